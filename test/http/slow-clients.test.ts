// Slow and oversized clients against the real server: trickling clients are
// cut off at the header or request timeout (408) while other clients are
// answered; oversized headers are refused (431). Short timeouts come in
// through the app options.
import t from 'tap'
import net from 'node:net'
import { startTestRuntime } from '../helpers/runtime.ts'

const rt = await startTestRuntime(t, { role: 'web', app: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 } })
const { hostname, port } = new URL(rt.address!)

interface RawClient { ended: Promise<string>, open: () => boolean }

/** A raw connection that writes `first`, then `next` every 100 ms until the server closes it; `ended` gives what it got back. */
function rawClient (first: string, next = ''): RawClient {
  const socket = net.connect(Number(port), hostname)
  let answer = ''
  let open = true
  socket.on('data', (d: Buffer) => { answer += d.toString('latin1') })
  socket.on('error', () => {})
  socket.on('connect', () => { socket.write(first) })
  const timer = setInterval(() => { if (next !== '' && socket.writable) socket.write(next) }, 100)
  const ended = new Promise<string>(resolve => socket.on('close', () => { open = false; clearInterval(timer); resolve(answer) }))
  t.teardown(() => { clearInterval(timer); socket.destroy() })
  return { ended, open: () => open }
}

t.test('clients trickling headers or a body are cut off with 408; the others are answered meanwhile', async t => {
  const headerTricklers = Array.from({ length: 30 }, (_, i) => rawClient(`GET /healthz HTTP/1.1\r\nHost: x\r\n`, `X-Slow-${i}: a\r\n`))
  const silent = rawClient('')
  const bodyTrickler = rawClient(
    'POST /graph/notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"value":[', ' ')

  const health = await fetch(`${rt.address!}/healthz`)
  t.equal(health.status, 200, 'a probe is answered while 32 slow clients are connected')
  const handshake = await fetch(`${rt.address!}/graph/notifications?validationToken=abc`, { method: 'POST', headers: { 'content-type': 'text/plain' } })
  t.equal(await handshake.text(), 'abc', 'a Graph handshake too')
  t.equal((await rt.api('GET', '/api/v1/mailboxes')).status, 200, 'and an API call')

  for (const answer of await Promise.all(headerTricklers.map(async c => await c.ended))) t.match(answer, /^HTTP\/1\.1 408 /)
  t.match(await silent.ended, /^HTTP\/1\.1 408 /, 'a client that sends nothing is closed too')
  t.match(await bodyTrickler.ended, /^HTTP\/1\.1 408 /, 'a body trickling past the request timeout is cut off')
  t.equal((await fetch(`${rt.address!}/healthz`)).status, 200, 'the server still answers')
})

t.test('headers over 16 KB: 431, and the connection is closed', async t => {
  const big = rawClient(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`)
  t.match(await big.ended, /^HTTP\/1\.1 431 /)
})
