/**
 * A local HTTP endpoint standing in for GitLab's internal mail_room API or a
 * webhook receiver: it records every request (path, headers, exact body
 * bytes), checks its authentication the way the real receiver does, and
 * answers what the test says (401 when the check fails, as GitLab does).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { jwtVerify, type JWTPayload } from 'jose'
import { Webhook } from 'standardwebhooks'
import type { Test } from 'tap'

export interface Received {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: Buffer
  /** Date.now() when the request had arrived whole. */
  at: number
  /** Set when the authentication check failed: why. */
  authError?: string
}

export interface Answer {
  status: number
  body?: string
  headers?: Record<string, string>
  /** held this long before it is sent */
  delayMs?: number
}

/** Decides the answer to the n-th request (1-based) that passed the check. */
export type Responder = (req: Received, n: number) => Answer

/** Checks a request's authentication; throws with the reason when it fails. */
export type Check = (req: Received) => Promise<void>

export interface Endpoint {
  url: string
  received: Received[]
  respond: (responder: Responder) => void
  /** The most requests that were waiting for their answer at once. */
  maxInFlight: () => number
}

export async function startEndpoint (t: Test, check: Check, responder: Responder = () => ({ status: 200, body: '{"success":true}' })): Promise<Endpoint> {
  const received: Received[] = []
  let answer = responder
  let accepted = 0
  let inFlight = 0
  let maxInFlight = 0
  const server = createServer((req, res) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight)
    res.on('close', () => { inFlight-- })
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() }
      received.push(r)
      check(r).then(() => answer(r, ++accepted), (err: Error): Answer => {
        r.authError = err.message
        return { status: 401, body: '{"message":"401 Unauthorized"}' }
      }).then(async a => {
        if (a.delayMs !== undefined) await new Promise(resolve => setTimeout(resolve, a.delayMs))
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers })
        res.end(a.body ?? '')
      }, () => { res.writeHead(500); res.end() })
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, received, respond: r => { answer = r }, maxInFlight: () => maxInFlight }
}

/**
 * GitLab's check (Gitlab::MailRoom::Authenticator + JwtAuthenticatable):
 * HS256 only, issuer `gitlab-mailroom`, `iat` present and less than 5 minutes old.
 */
export async function verifyLikeGitlab (token: string | undefined, secret: Uint8Array): Promise<JWTPayload> {
  if (token === undefined) throw new Error('no Gitlab-Mailroom-Api-Request header')
  const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], issuer: 'gitlab-mailroom', maxTokenAge: 300 })
  return payload
}

export function gitlabCheck (secret: Uint8Array): Check {
  return async req => { await verifyLikeGitlab(req.headers['gitlab-mailroom-api-request'] as string | undefined, secret) }
}

/** A Standard Webhooks receiver's check: `Webhook.verify` over the exact body bytes. */
export function webhookCheck (secret: string): Check {
  const wh = new Webhook(secret)
  return async req => { wh.verify(req.body, req.headers as Record<string, string>) }
}
