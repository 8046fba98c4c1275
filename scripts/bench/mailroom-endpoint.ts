/**
 * A stand-in for GitLab's internal mail_room API for the forward benchmark,
 * on a thread of its own (GitLab is another process: its CPU is not
 * mailslot's): checks every JWT as GitLab does (HS256, issuer, iat < 5 min),
 * answers 200 `{"success":true}` as GitLab does, and counts arrivals per
 * Message-ID so a run can prove each email arrived exactly once. 127.0.0.1 only.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { verifyLikeGitlab } from '../../test/handlers/delivery-endpoint.ts'

export interface ArrivalStats {
  /** Distinct Message-IDs since the last reset. */
  distinct: number
  /** Of those, how many arrived exactly once. */
  once: number
  /** Requests refused (bad JWT, path or content type) since the last reset. */
  refused: number
  /** When the last one arrived (ms since the epoch; 0 before the first). */
  lastAt: number
}

export interface MailroomEndpoint {
  url: string
  stats: () => Promise<ArrivalStats>
  reset: () => Promise<void>
  close: () => Promise<void>
}

/**
 * What the endpoint takes instead of a JWT from the mail_room Debian packages
 * (0.0.9, scripts/bench/mailroom-run.ts): its postback predates the JWT
 * header and sends `Authorization: Token token="…"`.
 */
export function legacyTokenOf (secret: Uint8Array): string {
  return Buffer.from(secret).toString('hex')
}

const MESSAGE_ID = /^Message-ID:\s*(<[^>\r\n]+>)/im
const PATH = '/api/v4/internal/mail_room/incoming_email'

/** `latencyMs`: each answer is held this long, as a GitLab across a network would. Default 0. */
export async function startMailroomEndpoint (secret: Uint8Array, latencyMs = 0): Promise<MailroomEndpoint> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { secret, latencyMs, legacyToken: legacyTokenOf(secret) } })
  const replies: Array<(value: any) => void> = []
  worker.on('message', msg => replies.shift()?.(msg))
  const ask = async (cmd: string): Promise<any> => await new Promise(resolve => { replies.push(resolve); worker.postMessage(cmd) })
  const { url } = await ask('url')
  return {
    url,
    stats: async () => await ask('stats'),
    reset: async () => { await ask('reset') },
    close: async () => { await worker.terminate() }
  }
}

function serve (secret: Uint8Array, latencyMs: number, legacyToken: string): void {
  const arrivals = new Map<string, number>()
  let refused = 0
  let lastAt = 0
  const check = async (headers: Record<string, string | string[] | undefined>): Promise<void> => {
    if (headers.authorization === `Token token="${legacyToken}"`) return
    await verifyLikeGitlab(headers['gitlab-mailroom-api-request'] as string | undefined, secret)
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      check(req.headers).then(() => {
        if (req.url !== PATH || req.headers['content-type'] !== 'text/plain') throw new Error('wrong path or content type')
        const id = MESSAGE_ID.exec(Buffer.concat(chunks).subarray(0, 4096).toString('latin1'))?.[1] ?? '(none)'
        arrivals.set(id, (arrivals.get(id) ?? 0) + 1)
        lastAt = Date.now()
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end('{"success":true}')
        }, latencyMs)
      }).catch(() => {
        refused++
        res.writeHead(401, { 'content-type': 'application/json' })
        res.end('{"message":"401 Unauthorized"}')
      })
    })
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => {
    parentPort?.on('message', (cmd: string) => {
      if (cmd === 'url') parentPort?.postMessage({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
      if (cmd === 'reset') { arrivals.clear(); refused = 0; lastAt = 0; parentPort?.postMessage({}) }
      if (cmd === 'stats') {
        const counts = [...arrivals.values()]
        parentPort?.postMessage({ distinct: counts.length, once: counts.filter(n => n === 1).length, refused, lastAt })
      }
    })
  })
}

if (!isMainThread) serve(workerData.secret as Uint8Array, workerData.latencyMs as number, workerData.legacyToken as string)
