/**
 * A webhook endpoint that hangs past the delivery timeout: the email goes
 * back to `received` with the reason, is retried with backoff, and is
 * delivered once, under the same webhook-id on every attempt.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { makeEmail } from '../../helpers/emails.ts'
import { waitFor } from '../../helpers/wait.ts'
import { deliveryFixture } from '../delivery-fixture.ts'
import { startEndpoint, webhookCheck } from '../delivery-endpoint.ts'

const TIMEOUT_MS = 1000
const RETRY_BASE_SECONDS = 1
const secret = `whsec_${randomBytes(32).toString('base64')}`

t.test('an endpoint hanging past the timeout twice: retried with backoff, delivered once', async t => {
  // the receiver listens on 127.0.0.1: private webhook targets allowed
  const fx = await deliveryFixture(t, { MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'true', MAILSLOT_HANDLE_RETRY_BASE_SECONDS: String(RETRY_BASE_SECONDS) },
    { deliveryTimeoutMs: TIMEOUT_MS })
  // the first two requests hang well beyond the timeout, the third is answered at once
  const hook = await startEndpoint(t, webhookCheck(secret), (_r, n) => n <= 2 ? { status: 200, delayMs: 4 * TIMEOUT_MS } : { status: 204 })
  await fx.mailbox('wh-hang', { kind: 'webhook', url: `${hook.url}/hooks/mail`, secret },
    [makeEmail(1, { to: 'incoming+group-project-12-abc123-issue@example.com' })])

  // between the tries the email waits in `received`, saying why
  const waiting = await waitFor(async () => {
    const [e] = await fx.emails('wh-hang')
    return e?.status === 'received' && e.attempts >= 1 ? e : undefined
  }, 'the email back in received after the first timeout', 15_000, 20)
  t.match(waiting.lastError, new RegExp(`^the webhook endpoint at ${hook.url}/hooks/mail: no answer within 1 s$`))

  const [e] = await fx.settled('wh-hang', 1, 30_000)
  t.match(e, { status: 'delivered', handler: 'webhook', attempts: 3, result: { status: 204, webhookId: `msg_${e.id}` } })
  t.equal(hook.received.length, 3, 'three tries, no more')
  t.same(hook.received.map(r => r.headers['webhook-id']), Array(3).fill(`msg_${e.id}`), 'the same webhook-id on every try')
  t.ok(hook.received.every(r => r.authError === undefined), 'each try correctly signed')
  // each try waits the timeout, then base × 1, then base × 2: lower bounds only, a loaded machine only adds
  const gaps = hook.received.slice(1).map((r, i) => r.at - hook.received[i].at)
  t.ok(gaps[0] >= TIMEOUT_MS + RETRY_BASE_SECONDS * 1000 - 50, `second try after timeout + base (${gaps[0]} ms)`)
  t.ok(gaps[1] >= TIMEOUT_MS + 2 * RETRY_BASE_SECONDS * 1000 - 50, `third try after timeout + 2 × base (${gaps[1]} ms)`)
  t.equal((await fx.emails('wh-hang')).length, 1, 'one email, stored once')
})
