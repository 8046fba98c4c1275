/**
 * The bare POST under post.ts, on node:http(s) with one keep-alive agent
 * per protocol and reach for the process: connections to a busy endpoint are
 * reused, never reopened per email. Every address connected passes the
 * outbound policy first (src/shared/address-policy.ts): an IP in the URL before the
 * request, a name in the lookup that opens each connection; a pooled socket
 * is only reused under the reach that opened it. Not global fetch: a
 * keep-alive POST through it costs several times the CPU of one through node:http.
 */
import http from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import { guardedLookup, RefusedAddressError, refusedAddress, urlHost, type Reach } from '../../shared/address-policy.ts'

/** Sockets kept per endpoint: more than the worker ever has in flight. */
const MAX_SOCKETS = 64

const agentPair = (): { 'http:': http.Agent, 'https:': https.Agent } => ({
  'http:': new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS })
})
const agents: Record<Reach, ReturnType<typeof agentPair>> = { public: agentPair(), private: agentPair() }
const lookups: Record<Reach, ReturnType<typeof guardedLookup>> = { public: guardedLookup('public'), private: guardedLookup('private') }

export interface RawAnswer {
  status: number
  retryAfter: string | null
  /** The first `excerptBytes` of the body (the rest is read and dropped, keeping the connection usable). */
  head: Buffer
  /** The body was longer than `head`. */
  cut: boolean
}

export interface PostOptions {
  headers: Record<string, string>
  body: Uint8Array | string
  signal: AbortSignal
  excerptBytes: number
  /** The addresses it may connect to; a refusal rejects with RefusedAddressError before any connection. */
  reach: Reach
}

export async function sendPost (url: URL, o: PostOptions): Promise<RawAnswer> {
  const host = urlHost(url)
  // node connects to an IP without a lookup: checked here instead
  const refused = isIP(host) === 0 ? undefined : refusedAddress(host, o.reach)
  if (refused !== undefined) throw new RefusedAddressError(`${host} is ${refused}`)
  const secure = url.protocol === 'https:'
  const agent = secure ? agents[o.reach]['https:'] : agents[o.reach]['http:']
  const send = secure ? https.request : http.request
  const { body, signal, excerptBytes } = o
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
  return await new Promise<RawAnswer>((resolve, reject) => {
    const options = { method: 'POST', agent, signal, lookup: lookups[o.reach], headers: { ...o.headers, 'content-length': String(length) } }
    const req = send(url, options, res => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        if (size < excerptBytes) chunks.push(chunk)
        size += chunk.length
      })
      res.on('end', () => {
        const all = Buffer.concat(chunks)
        resolve({ status: res.statusCode ?? 0, retryAfter: header(res.headers['retry-after']), head: all.subarray(0, excerptBytes), cut: size > excerptBytes })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

function header (value: string | string[] | undefined): string | null {
  return Array.isArray(value) ? value[0] ?? null : value ?? null
}
