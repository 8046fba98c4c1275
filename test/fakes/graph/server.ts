// The HTTPS listener: parses each request, logs it, tracks in-flight requests
// per mailbox, applies injected faults, checks bearer tokens and dispatches.
import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { Faults } from './faults.ts'
import { faultResponse } from './faults.ts'
import { type Ctx, type GraphCtx, graphError, readBody } from './http.ts'
import type { MailStore } from './mailstore.ts'
import { USER_PATH } from './mail-routes.ts'
import { GRAPH_AUDIENCE, type TokenStore } from './tokens.ts'

export interface LoggedRequest {
  method: string
  /** pathname + query, as sent */
  path: string
  status?: number
  /** Date.now() when the request arrived */
  at: number
  durationMs?: number
  /** label of the access token presented ("at-1"), to show token reuse */
  token?: string
  /** why the token was refused (401): expired, revoked, wrong audience... */
  tokenError?: string
  /** id of the mailbox the request addressed */
  mailbox?: string
}

export interface Routes {
  identity(ctx: Ctx): boolean
  graph(ctx: GraphCtx, path: string): Promise<boolean> | boolean
}

interface Deps { store: MailStore; tokens: TokenStore; faults: Faults; routes: Routes }

export class FakeServer {
  readonly requests: LoggedRequest[] = []
  readonly inFlight = new Map<string, number>()
  readonly maxInFlight = new Map<string, number>()
  private readonly server: https.Server
  /** off for benchmarks: the log would grow by one entry per request */
  log = true

  constructor (tls: { key: string; cert: string }, deps: Deps) {
    this.server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      void this.dispatch(req, res, deps).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { code: 'InternalServerError', message: `fake graph bug: ${err.stack}` } }))
      })
    })
  }

  async listen (port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => resolve())
    })
    return (this.server.address() as AddressInfo).port
  }

  async close (): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeAllConnections()
    await closed
  }

  private async dispatch (req: IncomingMessage, res: ServerResponse, deps: Deps): Promise<void> {
    const started = Date.now()
    const entry: LoggedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', at: started }
    if (this.log) this.requests.push(entry)
    const url = new URL(req.url ?? '/', `https://${req.headers.host ?? 'localhost'}`)
    let path: string
    try { path = decodeURIComponent(url.pathname) } catch { path = url.pathname }

    // Count in-flight requests per addressed mailbox, including body upload and
    // injected delays: Graph's concurrency limit is per app + mailbox.
    const bearer = (req.headers.authorization ?? '').match(/^Bearer\s+(.+)$/i)?.[1]
    const user = path.startsWith('/v1.0/') ? path.slice(5).match(USER_PATH) : null
    const who = user?.[2] ? deps.tokens.accessTokens.get(bearer ?? '')?.userId : user?.[1]
    const mailbox = who ? deps.store.find(who) : undefined
    if (mailbox) {
      entry.mailbox = mailbox.id
      const now = (this.inFlight.get(mailbox.id) ?? 0) + 1
      this.inFlight.set(mailbox.id, now)
      this.maxInFlight.set(mailbox.id, Math.max(now, this.maxInFlight.get(mailbox.id) ?? 0))
    }
    res.on('close', () => {
      entry.status = res.statusCode
      entry.durationMs = Date.now() - started
      if (mailbox) this.inFlight.set(mailbox.id, (this.inFlight.get(mailbox.id) ?? 1) - 1)
    })

    const body = await readBody(req)
    const ctx: Ctx = { req, res, method: entry.method, url, path, query: url.searchParams, body, requestId: randomUUID() }
    const fault = deps.faults.take(ctx.method, entry.path)
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs))
    if (fault?.status) {
      const { code, message, headers } = faultResponse({ ...fault, status: fault.status })
      return graphError(ctx, fault.status, code, message, headers)
    }

    if (deps.routes.identity(ctx)) return
    const version = path.match(/^\/(v1\.0|beta)(\/.*)$/)
    if (!version) return graphError(ctx, 404, 'NotFound', `No fake endpoint for ${ctx.method} ${path}`)
    const { issued, reason } = deps.tokens.check(bearer, GRAPH_AUDIENCE)
    entry.token = issued?.label
    if (reason || !issued) {
      entry.tokenError = reason
      return graphError(ctx, 401, 'InvalidAuthenticationToken', reason ?? '', { 'www-authenticate': 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"' })
    }
    const graphCtx: GraphCtx = { ...ctx, token: issued }
    if (!(await deps.routes.graph(graphCtx, version[2]))) graphError(ctx, 400, 'BadRequest', `Resource not found for the segment '${version[2].split('/')[1]}'.`)
  }
}
