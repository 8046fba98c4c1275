/**
 * The bare POST under post.ts, on node:http(s) with one keep-alive agent
 * per protocol for the process: connections to a busy endpoint are reused,
 * never reopened per email. Not global fetch: a keep-alive POST through it
 * costs several times the CPU of one through node:http.
 */
import http from 'node:http'
import https from 'node:https'

/** Sockets kept per endpoint: more than the worker ever has in flight. */
const MAX_SOCKETS = 64

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS })
}

export interface RawAnswer {
  status: number
  retryAfter: string | null
  /** The first `excerptBytes` of the body (the rest is read and dropped, keeping the connection usable). */
  head: Buffer
  /** The body was longer than `head`. */
  cut: boolean
}

export async function sendPost (
  url: URL, headers: Record<string, string>, body: Uint8Array | string, signal: AbortSignal, excerptBytes: number
): Promise<RawAnswer> {
  const secure = url.protocol === 'https:'
  const agent = secure ? agents['https:'] : agents['http:']
  const send = secure ? https.request : http.request
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
  return await new Promise<RawAnswer>((resolve, reject) => {
    const req = send(url, { method: 'POST', agent, signal, headers: { ...headers, 'content-length': String(length) } }, res => {
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
