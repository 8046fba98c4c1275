// A stand-in subscriber for tests and benchmarks of the fake itself: a plain
// HTTP server that answers validation handshakes and records notifications.
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received { path: string; query: URLSearchParams; contentType: string; body: string; json?: any }

export interface Receiver {
  url: string
  received: Received[]
  /** replace how requests are answered (default: echo validation tokens, 202 otherwise) */
  answer: (req: Received, res: http.ServerResponse) => void
  /** resolves once `predicate` holds for the received list */
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number): Promise<Received[]>
  close(): Promise<void>
}

export function echoValidation (req: Received, res: http.ServerResponse): void {
  const token = req.query.get('validationToken')
  if (token !== null) {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end(token)
  } else {
    res.writeHead(202)
    res.end()
  }
}

export async function startReceiver (): Promise<Receiver> {
  const received: Received[] = []
  const waiters = new Set<() => void>()
  const receiver: Receiver = {
    url: '',
    received,
    answer: echoValidation,
    waitFor: (predicate, timeoutMs = 5000) => new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate(received)) return
        waiters.delete(check)
        clearTimeout(timer)
        resolve(received)
      }
      const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`receiver: condition not met in ${timeoutMs} ms; got ${JSON.stringify(received.map((r) => r.body))}`)) }, timeoutMs)
      waiters.add(check)
      check()
    }),
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections() }),
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const body = Buffer.concat(chunks).toString('utf8')
      const entry: Received = { path: url.pathname, query: url.searchParams, contentType: req.headers['content-type'] ?? '', body }
      try { entry.json = body ? JSON.parse(body) : undefined } catch { /* not JSON: validation requests are text */ }
      received.push(entry)
      receiver.answer(entry, res)
      for (const waiter of [...waiters]) waiter()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return receiver
}
