// gitlab delivery end to end: Dovecot → mailslot → a local stand-in for
// GitLab's internal mail_room API that checks the JWT as GitLab does.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { makeEmail } from '../../helpers/emails.ts'
import { waitFor } from '../../helpers/wait.ts'
import { deliveryFixture } from '../delivery-fixture.ts'
import { DELIVERIES_IN_FLIGHT } from '../../../src/inbound/handle.ts'
import { HANDLE_CONCURRENCY } from '../../../src/runtime/workers.ts'
import { gitlabCheck, startEndpoint } from '../delivery-endpoint.ts'

const PATH = '/api/v4/internal/mail_room/incoming_email'
const fx = await deliveryFixture(t)
const dir = await mkdtemp(path.join(os.tmpdir(), 'mailslot-gitlab-'))
t.teardown(async () => await rm(dir, { recursive: true, force: true }))
const secret = new Uint8Array(randomBytes(32))
const secretFile = path.join(dir, '.gitlab_mailroom_secret')
await writeFile(secretFile, `${Buffer.from(secret).toString('base64')}\n`) // as GitLab's docs write it, newline included

const gitlab = (url: string, over: Record<string, unknown> = {}) => ({ kind: 'gitlab', url, mailboxType: 'incoming_email', secretFile, ...over })
const tooLarge = '{"success":false,"message":"We couldn\'t process your email because it is too large."}'

t.test('200: the exact raw bytes are POSTed with the JWT; delivered once each', async t => {
  const gl = await startEndpoint(t, gitlabCheck(secret))
  // 8-bit bytes that are not UTF-8 must reach GitLab untouched: GitLab converts them itself
  const latin1 = Buffer.concat([makeEmail(2).subarray(0, -2), Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x0d, 0x0a])])
  const raws = [makeEmail(1), latin1, makeEmail(3, { to: 'someone@example.com', headers: { 'Auto-Submitted': 'auto-replied' } })]
  await fx.mailbox('gl-ok', gitlab(gl.url), raws)
  const items = await fx.settled('gl-ok', 3)

  t.equal(gl.received.length, 3, 'one POST per email, auto-replies too (GitLab decides)')
  for (const r of gl.received) {
    t.equal(r.authError, undefined, 'the JWT verifies as GitLab verifies it')
    t.equal(r.method, 'POST')
    t.equal(r.path, PATH)
    t.equal(r.headers['content-type'], 'text/plain')
  }
  const bodies = gl.received.map(r => r.body.toString('hex')).sort()
  t.same(bodies, raws.map(r => r.toString('hex')).sort(), 'the raw bytes, exactly')
  for (const e of items) {
    t.equal(e.status, 'delivered')
    t.equal(e.handler, 'gitlab')
    t.same(e.result, { status: 200, mailboxType: 'incoming_email' })
    t.equal(e.attempts, 1)
  }
})

t.test('a batch goes out several at a time (never more than DELIVERIES_IN_FLIGHT), each recorded delivered once', async t => {
  const gl = await startEndpoint(t, gitlabCheck(secret), () => ({ status: 200, body: '{"success":true}', delayMs: 100 }))
  const raws = Array.from({ length: 40 }, (_, i) => makeEmail(500 + i))
  await fx.mailbox('gl-many', gitlab(gl.url), raws)
  const items = await fx.settled('gl-many', 40)
  t.equal(gl.received.length, 40, 'one POST per email')
  t.equal(new Set(gl.received.map(r => r.body.toString('hex'))).size, 40, 'no email twice')
  t.ok(gl.maxInFlight() > 2, `answers awaited side by side (${gl.maxInFlight()} at once)`)
  t.ok(gl.maxInFlight() <= DELIVERIES_IN_FLIGHT * HANDLE_CONCURRENCY, 'within the bounds')
  t.same(items.map(e => [e.status, e.attempts]), items.map(() => ['delivered', 1]))
})

t.test('service_desk_email, and a GitLab URL with a path and a trailing slash', async t => {
  const gl = await startEndpoint(t, gitlabCheck(secret))
  await fx.mailbox('gl-sd', gitlab(`${gl.url}/gitlab/`, { mailboxType: 'service_desk_email' }), [makeEmail(4)])
  const [e] = await fx.settled('gl-sd', 1)
  t.equal(e.status, 'delivered')
  t.same(gl.received.map(r => r.path), ['/gitlab/api/v4/internal/mail_room/service_desk_email'])
})

t.test('400: failed at once, the status and GitLab\'s message in last_error', async t => {
  const gl = await startEndpoint(t, gitlabCheck(secret), () => ({ status: 400, body: tooLarge }))
  await fx.mailbox('gl-400', gitlab(gl.url), [makeEmail(5)])
  const [e] = await fx.settled('gl-400', 1)
  t.equal(e.status, 'failed')
  t.equal(e.attempts, 1)
  t.match(e.lastError, /^GitLab at http:\/\/127\.0\.0\.1:\d+\/api\/v4\/internal\/mail_room\/incoming_email answered 400: .*too large/)
  await new Promise(resolve => setTimeout(resolve, 1500))
  t.equal(gl.received.length, 1, 'not retried')
})

t.test('500: retried with backoff, failed after the last try; a replay delivers it', async t => {
  const gl = await startEndpoint(t, gitlabCheck(secret), () => ({ status: 500, body: 'Internal Server Error' }))
  await fx.mailbox('gl-500', gitlab(gl.url), [makeEmail(6)])
  const [e] = await fx.settled('gl-500', 1)
  t.equal(e.status, 'failed')
  t.equal(e.attempts, 5)
  t.match(e.lastError, /answered 500: Internal Server Error$/)
  t.equal(gl.received.length, 5)
  t.ok(gl.received.every(r => r.authError === undefined && r.body.equals(gl.received[0].body)), 'the same bytes, a valid JWT each time')
  const gaps = gl.received.slice(1).map((r, i) => r.at - gl.received[i].at)
  t.ok(gaps[3] > gaps[0], `the waits grow (${gaps.join(', ')} ms)`)

  gl.respond(() => ({ status: 200 }))
  t.equal((await fx.rt.api('POST', `/api/v1/emails/${e.id}/replay`)).status, 202)
  const [after] = await waitFor(async () => {
    const items = await fx.emails('gl-500')
    return items[0].status === 'delivered' && items
  }, 'replayed')
  t.equal(after.lastError, null)
  t.equal(gl.received.length, 6)
})

t.test('500 then 200: delivered on the second attempt', async t => {
  const gl = await startEndpoint(t, gitlabCheck(secret), (_r, n) => n === 1 ? { status: 502 } : { status: 200 })
  await fx.mailbox('gl-flaky', gitlab(gl.url), [makeEmail(7)])
  const [e] = await fx.settled('gl-flaky', 1)
  t.equal(e.status, 'delivered')
  t.equal(e.attempts, 2)
  t.equal(gl.received.length, 2)
})

t.test('429 with Retry-After: the next try waits at least that long', async t => {
  const gl = await startEndpoint(t, gitlabCheck(secret), (_r, n) => n === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 })
  await fx.mailbox('gl-429', gitlab(gl.url), [makeEmail(8)])
  const [e] = await fx.settled('gl-429', 1)
  t.equal(e.status, 'delivered')
  t.ok(gl.received[1].at - gl.received[0].at >= 1900, `waited ${gl.received[1].at - gl.received[0].at} ms`)
})

t.test('a wrong secret gets GitLab\'s 401: failed at once', async t => {
  const gl = await startEndpoint(t, gitlabCheck(new Uint8Array(randomBytes(32))))
  await fx.mailbox('gl-401', gitlab(gl.url), [makeEmail(9)])
  const [e] = await fx.settled('gl-401', 1)
  t.equal(e.status, 'failed')
  t.match(e.lastError, /answered 401/)
  t.match(gl.received[0].authError, /signature verification failed/)
})

t.test('a missing or malformed secret file: failed at once, naming the file and not its content', async t => {
  const gl = await startEndpoint(t, gitlabCheck(secret))
  const bad = path.join(dir, 'short-secret')
  await writeFile(bad, 'c2hvcnQ=\n')
  await fx.mailbox('gl-nofile', gitlab(gl.url, { secretFile: path.join(dir, 'missing') }), [makeEmail(10)])
  await fx.mailbox('gl-badfile', gitlab(gl.url, { secretFile: bad }), [makeEmail(11)])
  const [missing] = await fx.settled('gl-nofile', 1)
  const [short] = await fx.settled('gl-badfile', 1)
  t.equal(missing.status, 'failed')
  t.equal(missing.attempts, 1)
  t.equal(missing.lastError, `GitLab secret file ${path.join(dir, 'missing')} cannot be read (ENOENT)`)
  t.equal(short.status, 'failed')
  t.match(short.lastError, `GitLab secret file ${bad} must hold the base64 of exactly 32 bytes`)
  t.notMatch(short.lastError, /c2hvcnQ/)
  t.equal(gl.received.length, 0, 'nothing sent')
})
