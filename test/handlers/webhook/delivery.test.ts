// webhook delivery end to end: Dovecot → mailslot → a local Standard
// Webhooks receiver that verifies every request with `standardwebhooks`.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { makeEmail } from '../../helpers/emails.ts'
import { waitFor } from '../../helpers/wait.ts'
import { deliveryFixture } from '../delivery-fixture.ts'
import { startEndpoint, webhookCheck, type Received } from '../delivery-endpoint.ts'

const PUBLIC_URL = 'https://mailslot.example.com'
// the receiver listens on 127.0.0.1: private webhook targets allowed
const fx = await deliveryFixture(t, { MAILSLOT_PUBLIC_URL: PUBLIC_URL, MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'true' })
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`
const secret = newSecret()
const webhook = (url: string, s = secret) => ({ kind: 'webhook', url: `${url}/hooks/mail`, secret: s })
const payload = (r: Received) => JSON.parse(r.body.toString('utf8'))

const to = 'incoming+group-project-12-abc123-issue@example.com'
const reply = makeEmail(1, { to, subject: 'Re: the plan', messageId: '<reply-1@example.org>', body: 'Sounds good.\r\n\r\nOn Sat, 31 Oct 2026, Bob wrote:\r\n> the plan is this\r\n', size: 0 })

t.test('signed JSON per email; payload fields; stable webhook-id across a replay', async t => {
  const hook = await startEndpoint(t, webhookCheck(secret), () => ({ status: 204 }))
  const autoReply = makeEmail(2, { to, headers: { 'Auto-Submitted': 'auto-replied' } })
  await fx.mailbox('wh-ok', webhook(hook.url), [reply, makeEmail(3, { to: 'nobody@example.com' }), autoReply])
  const [first, noKey, auto] = await fx.settled('wh-ok', 3)

  t.equal(hook.received.length, 2, 'the auto-reply is not sent')
  t.match(auto, { status: 'rejected', reason: 'auto_generated' })
  for (const r of hook.received) {
    t.equal(r.authError, undefined, 'Webhook.verify accepts it')
    t.equal(r.path, '/hooks/mail')
    t.equal(r.headers['content-type'], 'application/json')
  }
  t.match(first, { status: 'delivered', handler: 'webhook', attempts: 1, result: { status: 204, webhookId: `msg_${first.id}` } })
  t.match(noKey, { status: 'delivered', handler: 'webhook' })

  const byId = new Map(hook.received.map(r => [r.headers['webhook-id'], r]))
  const event = payload(byId.get(`msg_${first.id}`)!)
  t.match(event, {
    type: 'email.received',
    version: 1,
    email: {
      id: first.id,
      mailbox: 'wh-ok',
      messageId: '<reply-1@example.org>',
      from: { address: 'sender1@example.org', name: 'Sender 1' },
      to: [{ address: to, name: '' }],
      cc: [],
      subject: 'Re: the plan',
      date: '2026-11-01T12:00:01.000Z',
      text: 'Sounds good.\n\nOn Sat, 31 Oct 2026, Bob wrote:\n> the plan is this\n',
      replyText: 'Sounds good.',
      textTruncated: false,
      attachments: []
    },
    routing: { outcome: 'handle', handler: 'create_issue', key: 'group-project-12-abc123-issue', header: 'to' },
    rawUrl: `${PUBLIC_URL}/api/v1/emails/${first.id}/raw`
  })
  t.match(payload(byId.get(`msg_${noKey.id}`)!).routing, { outcome: 'reject', reason: 'no_key' })

  const rawPath = new URL(event.rawUrl).pathname
  const raw = await fetch(fx.rt.address + rawPath, { headers: { authorization: `Bearer ${fx.rt.token}` } })
  t.ok(Buffer.from(await raw.arrayBuffer()).equals(reply), 'rawUrl serves the original bytes')

  t.equal((await fx.rt.api('POST', `/api/v1/emails/${first.id}/replay`)).status, 202)
  await waitFor(async () => hook.received.length === 3 && (await fx.emails('wh-ok'))[0].status === 'delivered', 'replayed')
  const again = hook.received[2]
  t.equal(again.headers['webhook-id'], `msg_${first.id}`, 'the same webhook-id: receivers can dedupe')
  t.equal(again.authError, undefined)
  t.same(payload(again), event, 'the same event')
})

t.test('a receiver with another secret cannot verify it: 401, failed at once', async t => {
  const other = newSecret()
  const hook = await startEndpoint(t, webhookCheck(other))
  await fx.mailbox('wh-wrong', webhook(hook.url), [makeEmail(4, { to })])
  const [e] = await fx.settled('wh-wrong', 1)
  t.equal(e.status, 'failed')
  t.equal(e.attempts, 1)
  t.match(e.lastError, /^the webhook endpoint at http:\/\/127\.0\.0\.1:\d+\/hooks\/mail answered 401/)
  const [r] = hook.received
  t.match(r.authError, /No matching signature/)
  t.throws(() => new Webhook(other).verify(r.body, r.headers as Record<string, string>), /No matching signature/)
  t.ok(new Webhook(secret).verify(r.body, r.headers as Record<string, string>), 'it was signed with the mailbox secret')
  t.notMatch(e.lastError, secret.slice(6, 20))
})

t.test('503 then 200: retried with the same webhook-id, delivered', async t => {
  const hook = await startEndpoint(t, webhookCheck(secret), (_r, n) => n === 1 ? { status: 503 } : { status: 200 })
  await fx.mailbox('wh-flaky', webhook(hook.url), [makeEmail(5, { to })])
  const [e] = await fx.settled('wh-flaky', 1)
  t.equal(e.status, 'delivered')
  t.equal(e.attempts, 2)
  t.same(hook.received.map(r => r.headers['webhook-id']), [`msg_${e.id}`, `msg_${e.id}`])
  t.ok(hook.received.every(r => r.authError === undefined))
})

t.test('always 500: retried with backoff, failed after the last try', async t => {
  const hook = await startEndpoint(t, webhookCheck(secret), () => ({ status: 500, body: '{"error":"boom"}' }))
  await fx.mailbox('wh-down', webhook(hook.url), [makeEmail(6, { to })])
  const [e] = await fx.settled('wh-down', 1)
  t.equal(e.status, 'failed')
  t.equal(e.attempts, 5)
  t.match(e.lastError, /answered 500: \{"error":"boom"\}$/)
  t.equal(hook.received.length, 5)
})

t.test('a 4xx other than 401: failed at once', async t => {
  const hook = await startEndpoint(t, webhookCheck(secret), () => ({ status: 422, body: 'unprocessable' }))
  await fx.mailbox('wh-422', webhook(hook.url), [makeEmail(7, { to })])
  const [e] = await fx.settled('wh-422', 1)
  t.match(e, { status: 'failed', attempts: 1 })
  t.match(e.lastError, /answered 422: unprocessable$/)
})
