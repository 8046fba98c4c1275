/**
 * A fake OAuth 2.0 token-introspection endpoint (RFC 7662) for Dovecot's
 * oauth2 passdb: pass its `url` as `startDovecot({ oauth2IntrospectionUrl })`.
 *
 * Dovecot POSTs `token=<bearer>&client_id=&client_secret=`; a token found in
 * `tokens` answers `{"active":true,"username":<user>}` (Dovecot reads `active`
 * as text, so `true` and `"true"` both equal its active_value, and compares
 * `username` with the login name). Other tokens go to `lookup` when given (e.g.
 * the fake identity platform's `introspect`, see oauth-imap.ts), else answer
 * `{"active":false}`.
 * `tokens` is live: add or delete entries to grant or revoke during a test.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/** An RFC 7662 answer; `username` is the IMAP login name it is good for. */
export type IntrospectionAnswer = { active: true, username: string } & Record<string, unknown> | { active: false }

export interface Introspection {
  /** `http://127.0.0.1:<port>/introspect` */
  readonly url: string;
  /** token -> user name; edit freely. */
  readonly tokens: Map<string, string>;
  /** Number of introspection requests answered so far. */
  readonly requests: number;
  close(): Promise<void>;
}

export async function startIntrospection (
  tokens: Map<string, string> = new Map(), lookup?: (token: string) => IntrospectionAnswer
): Promise<Introspection> {
  let requests = 0
  const answer = (token: string): IntrospectionAnswer => {
    const user = tokens.get(token)
    if (user !== undefined) return { active: true, username: user }
    return lookup?.(token) ?? { active: false }
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests++
      const body = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
      const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]
      const token = body.get('token') ?? new URL(req.url ?? '/', 'http://x').searchParams.get('access_token') ?? bearer ?? ''
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(answer(token)))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/introspect`,
    tokens,
    get requests () {
      return requests
    },
    close () {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
