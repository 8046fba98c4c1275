// Small request/response helpers shared by the fake's route modules, so each
// module only deals with protocol decisions, not with Node's stream plumbing.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import type { AccessToken, Provider, TokenRequest, TokenStore } from './tokens.ts'

export interface Ctx {
  req: IncomingMessage
  res: ServerResponse
  method: string
  url: URL
  /** pathname, percent-decoded */
  path: string
  query: URLSearchParams
  body: Buffer
  requestId: string
}

export function header (ctx: Ctx, name: string): string {
  const value = ctx.req.headers[name.toLowerCase()]
  return Array.isArray(value) ? value.join(', ') : (value ?? '')
}

export function readBody (req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** Parse a JSON body; undefined when absent or malformed (callers answer 400). */
export function jsonBody (ctx: Ctx): any {
  if (ctx.body.length === 0) return undefined
  try { return JSON.parse(ctx.body.toString('utf8')) } catch { return undefined }
}

export function send (ctx: Ctx, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (ctx.res.headersSent) return
  const payload = body === undefined || Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8')
  const isJson = body !== undefined && !Buffer.isBuffer(body) && typeof body !== 'string'
  ctx.res.writeHead(status, {
    'request-id': ctx.requestId,
    'client-request-id': header(ctx, 'client-request-id') || ctx.requestId,
    ...(isJson ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    ...(payload ? { 'content-length': String(payload.length) } : {}),
    ...headers,
  })
  ctx.res.end(payload)
}

/** Graph's error shape: {"error":{"code","message","innerError"}}. */
export function graphError (ctx: Ctx, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  send(ctx, status, {
    error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': ctx.requestId, 'client-request-id': ctx.requestId } },
  }, headers)
}

/** The identity platform's error shape (AADSTS codes). */
export function oauthError (ctx: Ctx, status: number, error: string, aadsts: number, description: string): void {
  send(ctx, status, aadErrorBody(error, aadsts, description))
}

export function aadErrorBody (error: string, aadsts: number, description: string): { error: string } & Record<string, unknown> {
  return {
    error,
    error_description: `AADSTS${aadsts}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
    error_codes: [aadsts],
    timestamp: new Date().toISOString(),
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  }
}

/** An OAuth endpoint's answer, built first so the token log can record it before it is sent. */
export interface OAuthAnswer { status: number; body: { error?: string } & Record<string, unknown> }

/** The app's redirect URI carrying an authorization answer (code or error) and the request's `state`. */
export function redirectBack (redirectUri: string, state: string | undefined, params: Record<string, string>): URL {
  const target = new URL(redirectUri)
  for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v)
  if (state !== undefined) target.searchParams.set('state', state)
  return target
}

/** application/x-www-form-urlencoded body (token, revoke, consent forms). */
export function formBody (ctx: Ctx): URLSearchParams {
  return new URLSearchParams(ctx.body.toString('utf8'))
}

/** Graph timestamps have no milliseconds: 2024-05-01T10:00:00Z. */
export function graphTime (ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Does a `Prefer` header carry the given preference (e.g. IdType="ImmutableId")? */
export function prefers (ctx: Ctx, pattern: RegExp): RegExpMatchArray | null {
  return header(ctx, 'prefer').match(pattern)
}

/** A Graph request that passed the bearer-token check. */
export interface GraphCtx extends Ctx {
  token: AccessToken
}

/** Who calls a token endpoint. */
export interface ClientAuth { clientId: string; secret?: string }

/** Client authentication: secret in the form (client_secret_post) or in HTTP Basic. */
export function clientCredentials (form: URLSearchParams, authorization: string): ClientAuth {
  const basic = authorization.match(/^Basic (.+)$/i)
  const [basicId, basicSecret] = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':').map(decodeURIComponent) : []
  return { clientId: form.get('client_id') ?? basicId ?? '', secret: form.get('client_secret') ?? basicSecret }
}

/** A token endpoint: client credentials read, the request logged with its outcome, the answer sent. */
export function answerTokenRequest (
  ctx: Ctx, tokens: TokenStore, provider: Provider,
  answer: (form: URLSearchParams, client: ClientAuth, entry: TokenRequest) => OAuthAnswer
): void {
  const form = formBody(ctx)
  const client = clientCredentials(form, header(ctx, 'authorization'))
  const entry = tokens.logTokenRequest({ provider, grantType: form.get('grant_type') ?? '', clientId: client.clientId, at: Date.now() })
  const { status, body } = answer(form, client, entry)
  entry.status = status
  entry.error = body.error
  send(ctx, status, body)
}
