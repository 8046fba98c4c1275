/**
 * The webhook receiver: checks each request's Standard Webhooks signature and
 * records which `webhook-id`s carried which email (by Message-ID).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'

export interface Sink {
  url: string
  /** Message-ID → the distinct webhook-ids it arrived under */
  ids: Map<string, Set<string>>
  requests: number
  badSignatures: number
  close: () => Promise<void>
}

export async function startSink (secret: string): Promise<Sink> {
  const verifier = new Webhook(secret)
  const sink: Sink = { url: '', ids: new Map(), requests: 0, badSignatures: 0, close: async () => {} }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      sink.requests++
      const body = Buffer.concat(chunks).toString('utf8')
      let payload: { email?: { messageId?: string } }
      try {
        payload = verifier.verify(body, req.headers as Record<string, string>) as typeof payload
      } catch {
        sink.badSignatures++
        res.writeHead(400).end('bad signature')
        return
      }
      const messageId = payload.email?.messageId ?? '(none)'
      const set = sink.ids.get(messageId) ?? new Set<string>()
      set.add(String(req.headers['webhook-id']))
      sink.ids.set(messageId, set)
      res.writeHead(204).end()
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  sink.close = async () => {
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
  return sink
}
