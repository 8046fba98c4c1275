import t, { type Test } from 'tap'
import type { MailboxHandle } from '../fakes/graph/index.ts'
import { makeEmail } from '../helpers/emails.ts'
import { waitFor } from '../helpers/wait.ts'
import { graphFixture, graphMailbox, syncJobs, view, type GraphFixture } from '../helpers/graph-fixture.ts'
import { finishedCount } from '../helpers/rows.ts'

/** Subscribed webhook mailbox; subscriptions live 12 s, so renewal is due after 6 s. */
async function subscribed (t: Test, lifetimeMinutes = '0.2'): Promise<GraphFixture & { name: string, box: MailboxHandle }> {
  const f = await graphFixture(t, {
    webhook: true, fake: { minSubscriptionMinutes: 0 }, env: { MAILSLOT_GRAPH_SUBSCRIPTION_MINUTES: lifetimeMinutes }
  })
  const box = f.fake.addMailbox('grace@contoso.example')
  const spec = graphMailbox(f.fake, box)
  await f.rt.api('POST', '/api/v1/mailboxes', spec)
  const name = spec.name as string
  await waitFor(async () => f.fake.subscriptions().length === 1 && (await view(f.rt, name)).subscription?.state === 'active', 'subscribed')
  return { ...f, name, box }
}

t.test('renewed before it expires', async t => {
  const { fake, rt, name } = await subscribed(t)
  const [first] = fake.subscriptions()
  const expires = Date.parse(first.expirationDateTime)
  t.ok(expires - Date.now() < 13_000, 'short lifetime asked for')
  const renewed = await waitFor(async () => {
    const [s] = fake.subscriptions()
    return s !== undefined && Date.parse(s.expirationDateTime) > expires && s
  }, 'renewal', 15_000)
  t.ok(Date.now() < expires, 'renewed before the old expiry')
  t.equal(renewed.id, first.id, 'the same subscription, renewed (PATCH)')
  await new Promise(resolve => setTimeout(resolve, Math.max(0, expires - Date.now() + 500)))
  t.equal(fake.subscriptions().length, 1, 'still alive after the first expiry')
  t.equal(Date.parse((await view(rt, name)).subscription.expiresAt), Date.parse(fake.subscriptions()[0].expirationDateTime), 'the API shows the new expiry')
  t.ok(fake.requests.some(r => r.method === 'PATCH' && r.path.includes('/subscriptions/') && r.status === 200), 'PATCH /subscriptions/{id}')
})

t.test('lifecycle: reauthorizationRequired, missed, subscriptionRemoved', async t => {
  const { fake, rt, name, box } = await subscribed(t, '60')
  const [first] = fake.subscriptions()

  t.equal(await fake.sendLifecycle(first.id, 'reauthorizationRequired'), true, 'lifecycle event accepted (2xx)')
  await waitFor(async () => fake.subscriptions()[0]?.reauthorizedCount === 1, 'reauthorize call seen by Graph')

  const before = new Date()
  const lastPoll = Date.parse((await view(rt, name)).health.lastPollAt)
  t.equal(await fake.sendLifecycle(first.id, 'missed'), true)
  await waitFor(async () => await syncJobs(rt, 'resync', before) >= 1, 'a resync queued')
  await waitFor(async () => Date.parse((await view(rt, name)).health.lastPollAt) > lastPoll, 'the mailbox synced again')

  t.equal(await fake.sendLifecycle(first.id, 'subscriptionRemoved'), true)
  const fresh = await waitFor(async () => {
    const subs = fake.subscriptions()
    return subs.length === 1 && subs[0].id !== first.id && subs[0]
  }, 'a new subscription')
  await waitFor(async () => (await view(rt, name)).subscription?.id === fresh.id, 'stored')
  t.equal((await view(rt, name)).subscription.state, 'active')
  t.ok(fresh.clientState !== first.clientState, 'a new clientState')
  t.ok(await syncJobs(rt, 'resync', before) >= 2, 'resynced after the removal')

  box.addMessage('Inbox', makeEmail(1))
  await waitFor(async () => (await finishedCount(rt, name)) === 1, 'mail arrives through the new subscription')
  t.ok(fake.deliveries.some(d => d.kind === 'change' && d.status === 202), 'notification accepted')
})

t.test('lifecycle events with a wrong clientState change nothing', async t => {
  const { fake, rt } = await subscribed(t, '60')
  const [sub] = fake.subscriptions()
  const res = await fetch(`${rt.address as string}/graph/lifecycle`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value: [{ subscriptionId: sub.id, clientState: 'forged', lifecycleEvent: 'subscriptionRemoved', tenantId: fake.tenantId }] })
  })
  t.equal(res.status, 202)
  await new Promise(resolve => setTimeout(resolve, 500))
  t.equal(fake.subscriptions()[0].id, sub.id, 'the subscription was not recreated')
  t.match((await rt.api('GET', '/metrics')).text, /result="lifecycle_client_state_mismatch"\} 1/)
})
