// Small request/response helpers shared by the fake's route modules, so each
// module only deals with protocol decisions, not with Node's stream plumbing.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import type { AccessToken } from './tokens.ts'

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
  send(ctx, status, {
    error,
    error_description: `AADSTS${aadsts}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
    error_codes: [aadsts],
    timestamp: new Date().toISOString(),
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  })
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
