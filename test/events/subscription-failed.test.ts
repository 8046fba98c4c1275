/**
 * subscription.failed: the Graph fake refuses to create a mailbox's
 * change-notification subscription, and the operator hears of it, naming
 * the mailbox and Graph's error, signed like every event.
 */
import t from 'tap'
import { graphFixture, graphMailbox, view } from '../helpers/graph-fixture.ts'
import { waitFor } from '../helpers/wait.ts'
import { startEventsEndpoint } from './fixture.ts'

t.test('a subscription Graph refuses to create: subscription.failed with the mailbox and the error', async t => {
  const endpoint = await startEventsEndpoint(t)
  const { fake, rt } = await graphFixture(t, { webhook: true, env: endpoint.env })
  fake.faults.inject({ method: 'POST', path: /^\/v1\.0\/subscriptions$/, status: 403, code: 'ExtensionError', message: 'Operation: Create; the tenant refuses subscriptions' })
  const spec = graphMailbox(fake, fake.addMailbox('oscar@contoso.example'))
  const name = spec.name as string
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201)

  await waitFor(async () => (await view(rt, name)).subscription?.state === 'failed', 'the failure recorded')
  const failed = await waitFor(async () => endpoint.events().find(e => e.type === 'subscription.failed'), 'subscription.failed received')
  t.same(failed.data, { mailbox: name, error: (await view(rt, name)).subscription.lastError }, '{mailbox, error}: the error as the API shows it')
  t.match(failed.data, { error: /^subscription not created: .*the tenant refuses subscriptions/ })
  t.ok(Number.isFinite(Date.parse(failed.timestamp)))
  await waitFor(async () => endpoint.events().some(e => e.type === 'mailbox.health_changed' && e.data.to === 'ok'), 'the mailbox itself polled, and ok')
  t.equal(endpoint.events().filter(e => e.type === 'subscription.failed').length, 1, 'one failure, one event')
  t.ok(endpoint.received.every(r => r.authError === undefined), 'every signature verified')
})
