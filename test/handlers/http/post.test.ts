import t, { type Test } from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { postDelivery, retryAfterSeconds } from '../../../src/handlers/http/post.ts'
import { RetryableError } from '../../../src/inbound/lifecycle.ts'

interface Reply { status: number, body?: string, headers?: Record<string, string>, delayMs?: number }

async function server (t: Test, reply: Reply): Promise<string> {
  const s = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      setTimeout(() => { res.writeHead(reply.status, reply.headers); res.end(reply.body ?? '') }, reply.delayMs ?? 0)
    })
  })
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { s.closeAllConnections(); await new Promise(resolve => s.close(resolve)) })
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
}

const post = (url: string, timeoutMs?: number) => postDelivery({ what: 'GitLab', url, headers: {}, body: 'x', timeoutMs, reach: 'private' })

async function failure (p: Promise<unknown>): Promise<Error> {
  try { await p } catch (err) { return err as Error }
  throw new Error('expected a failure')
}

t.test('2xx is a success with its status', async t => {
  t.same(await post(await server(t, { status: 202, body: '{"success":true}' })), { status: 202, excerpt: '{"success":true}' })
})

t.test('5xx, 429 and 408 are retryable; 429 keeps Retry-After', async t => {
  for (const status of [500, 502, 503, 408]) {
    const err = await failure(post(await server(t, { status, body: 'busy' })))
    t.ok(err instanceof RetryableError, `${status} retryable`)
    t.match(err.message, new RegExp(`^GitLab at http://127\\.0\\.0\\.1:\\d+/ answered ${status}: busy$`))
  }
  const err = await failure(post(await server(t, { status: 429, headers: { 'retry-after': '7' } })))
  t.ok(err instanceof RetryableError)
  t.equal((err as RetryableError).retryAfterSeconds, 7)
})

t.test('other statuses are permanent, with the status and the start of the answer', async t => {
  for (const status of [400, 401, 404, 301]) {
    const err = await failure(post(await server(t, { status, body: '{"success":false,"message":"too large"}', headers: status === 301 ? { location: '/x' } : {} })))
    t.notOk(err instanceof RetryableError, `${status} permanent`)
    t.match(err.message, `answered ${status}: {"success":false,"message":"too large"}`)
  }
  const long = await failure(post(await server(t, { status: 400, body: `${'a'.repeat(1000)}\n\nb` })))
  t.match(long.message, /answered 400: a{300}…$/, 'a long answer is cut')
})

t.test('no answer in time, or no server, is retryable', async t => {
  const slow = await failure(post(await server(t, { status: 200, delayMs: 1000 }), 200))
  t.ok(slow instanceof RetryableError)
  t.match(slow.message, /no answer within 0\.2 s/)
  const gone = createServer()
  await new Promise<void>(resolve => gone.listen(0, '127.0.0.1', resolve))
  const port = (gone.address() as AddressInfo).port
  await new Promise(resolve => gone.close(resolve))
  const refused = await failure(post(`http://127.0.0.1:${port}`))
  t.ok(refused instanceof RetryableError)
  t.match(refused.message, /ECONNREFUSED/)
})

t.test('credentials in the URL are sent as basic auth; they and the query stay out of messages', async t => {
  const seen: Array<string | undefined> = []
  const s = createServer((req, res) => { seen.push(req.headers.authorization); req.resume(); res.writeHead(400); res.end() })
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { s.closeAllConnections(); await new Promise(resolve => s.close(resolve)) })
  const url = `http://us%40er:hunter2@127.0.0.1:${(s.address() as AddressInfo).port}/hook?token=s3cret`
  const err = await failure(post(url))
  t.notMatch(err.message, /hunter2|s3cret/)
  t.match(err.message, /^GitLab at http:\/\/127\.0\.0\.1:\d+\/hook answered 400$/)
  t.same(seen, [`Basic ${Buffer.from('us@er:hunter2').toString('base64')}`])
})

t.test('one kept-alive connection serves delivery after delivery', async t => {
  const sockets = new Set<unknown>()
  const s = createServer((req, res) => { sockets.add(req.socket); req.resume(); req.on('end', () => { res.writeHead(200); res.end('{}') }) })
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { s.closeAllConnections(); await new Promise(resolve => s.close(resolve)) })
  for (let i = 0; i < 5; i++) await post(`http://127.0.0.1:${(s.address() as AddressInfo).port}/`)
  t.equal(sockets.size, 1)
})

t.test('a URL that is not http(s) is a permanent error', async t => {
  const err = await failure(post('ftp://example.com/x'))
  t.notOk(err instanceof RetryableError)
  t.equal(err.message, 'GitLab: the delivery URL is not a valid http(s) URL')
})

t.test('Retry-After: seconds or a date, clipped to an hour', async t => {
  const now = Date.parse('2026-11-01T12:00:00Z')
  t.equal(retryAfterSeconds('120', now), 120)
  t.equal(retryAfterSeconds('Sun, 01 Nov 2026 12:00:30 GMT', now), 30)
  t.equal(retryAfterSeconds('Sun, 01 Nov 2026 11:00:00 GMT', now), 0)
  t.equal(retryAfterSeconds('999999', now), 3600)
  t.equal(retryAfterSeconds('soon', now), undefined)
  t.equal(retryAfterSeconds(null, now), undefined)
})
