import t from 'tap'
import { freePort } from '../../src/db/embedded.ts'
import { runSubscriptionJob } from '../../src/graph-webhooks/subscriptions/manager.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startTestRuntime } from '../helpers/runtime.ts'
import { waitFor } from '../helpers/wait.ts'
import { graphFixture, graphMailbox, handledOnce, view } from '../helpers/graph-fixture.ts'
import { countRows, finishedCount } from '../helpers/rows.ts'

t.test('a 429 with Retry-After pauses every request of the mailbox, then all is handled once', async t => {
  const { fake, rt } = await graphFixture(t)
  const box = fake.addMailbox('ivan@contoso.example')
  for (let i = 0; i < 40; i++) box.addMessage('Inbox', makeEmail(i))
  fake.resetStats()
  const throttle = fake.faults.throttle(2, 2, { path: '/$value' })
  // slow downloads: without the pause, the free slots would keep downloading during Retry-After
  fake.faults.delay(150, 100, { path: '/$value' })
  const spec = graphMailbox(fake, box, { mode: 'poll', pollIntervalSeconds: 3600 })
  await rt.api('POST', '/api/v1/mailboxes', spec)
  await waitFor(async () => (await finishedCount(rt, spec.name as string)) === 40, '40 handled', 30_000)
  await handledOnce(t, rt, spec.name as string, 40)
  t.equal(throttle.hits, 2, 'throttled twice')
  const mine = fake.requests.filter(r => r.mailbox === box.id)
  const first = mine.find(r => r.status === 429)!
  const answeredAt = first.at + (first.durationMs ?? 0)
  // requests already on their way when the 429 was sent (a new TLS connection) may still arrive a moment later
  const during = mine.filter(r => r.at > answeredAt + 300 && r.at < answeredAt + 1900)
  t.same(during.map(r => `${r.method} ${r.path}`), [], 'no request of the mailbox while Retry-After runs')
  t.ok(mine.some(r => r.at >= answeredAt + 1950), 'requests went on after the pause')
  t.ok(fake.maxConcurrent(box.id) <= 4, `at most 4 requests at once (${fake.maxConcurrent(box.id)})`)
})

t.test('refused credentials or access show as auth_failed; an invalidated token is replaced once', async t => {
  const { fake, rt } = await graphFixture(t)
  const wrong = fake.addMailbox('judy@contoso.example')
  const denied = fake.addMailbox('ken@contoso.example')
  const fine = fake.addMailbox('leo@contoso.example')
  fake.denyAccess(denied.upn)
  const a = graphMailbox(fake, wrong, { mode: 'poll' })
  ;(a.graph as Record<string, string>).clientSecret = 'fake~not-the-secret'
  const b = graphMailbox(fake, denied, { mode: 'poll' })
  const c = graphMailbox(fake, fine, { mode: 'poll' })
  for (const spec of [a, b, c]) await rt.api('POST', '/api/v1/mailboxes', spec)
  const health = async (name: unknown): Promise<any> => (await view(rt, name as string)).health
  await waitFor(async () => (await health(a.name)).state === 'auth_failed' && (await health(b.name)).state === 'auth_failed' && (await health(c.name)).state === 'ok', 'health settled')
  t.match((await health(a.name)).lastError, /invalid_client/)
  t.match((await health(b.name)).lastError, /403 ErrorAccessDenied/)
  t.notMatch(JSON.stringify(await health(a.name)) + rt.logs(), fake.clientSecret, 'no secret in health or logs')

  fake.faults.invalidateTokens()
  fine.addMessage('Inbox', makeEmail(1))
  await rt.api('POST', `/api/v1/mailboxes/${c.name as string}/poll`)
  await waitFor(async () => (await finishedCount(rt, c.name as string)) === 1, 'handled with a new token')
  t.ok(fake.requests.some(r => r.status === 401), 'the old token was refused')
  t.equal((await health(c.name)).state, 'ok')
})

t.test('a failed handshake: the mailbox is polled and shows why', async t => {
  const closed = await freePort()
  const { fake, rt } = await graphFixture(t, { webhook: `http://127.0.0.1:${closed}` })
  const box = fake.addMailbox('mallory@contoso.example')
  box.addMessage('Inbox', makeEmail(1))
  const spec = graphMailbox(fake, box, { pollIntervalSeconds: 20 })
  await rt.api('POST', '/api/v1/mailboxes', spec)
  const sub = await waitFor(async () => (await view(rt, spec.name as string)).subscription?.state === 'failed' && (await view(rt, spec.name as string)).subscription, 'failure shown')
  t.match(sub.lastError, /ValidationError|validation/i)
  t.same(fake.subscriptions(), [])
  await waitFor(async () => (await finishedCount(rt, spec.name as string)) === 1, 'handled by polling')
  await rt.api('POST', `/api/v1/mailboxes/${spec.name as string}/poll`)
  await waitFor(async () => await countRows(rt, 'SELECT extract(epoch FROM next_poll_at - last_success_at)::int AS n FROM mailboxes WHERE last_success_at > now() - interval \'5 seconds\'') > 0, 'synced')
  t.equal(await countRows(rt, 'SELECT extract(epoch FROM next_poll_at - last_success_at)::int AS n FROM mailboxes'), 20, 'polled at its interval, not the webhook safety interval')
  t.equal((await view(rt, spec.name as string)).health.state, 'ok', 'the mailbox itself is fine')
})

t.test('two runtimes on one database create one subscription', async t => {
  const first = await graphFixture(t, { webhook: true })
  const { fake, rt } = first
  const other = await startTestRuntime(t, { databaseUrl: rt.databaseUrl, env: { ...rt.env, PORT: '0', MAILSLOT_PUBLIC_URL: first.publicUrl as string } })
  // a slow Graph widens the race: every create takes half a second
  fake.faults.delay(500, 20, { method: 'POST', path: /^\/v1\.0\/subscriptions$/ })
  const box = fake.addMailbox('nina@contoso.example')
  const spec = graphMailbox(fake, box)
  const created = await rt.api('POST', '/api/v1/mailboxes', spec)
  const job = { mailboxId: created.body.id as number, action: 'ensure' as const }
  await Promise.all([rt, other, rt, other].map(async r => { await runSubscriptionJob(r.ctx, job) }))
  await waitFor(async () => (await view(rt, spec.name as string)).subscription?.state === 'active', 'subscribed')
  await new Promise(resolve => setTimeout(resolve, 1500))
  t.equal(fake.subscriptions().length, 1, 'one subscription at Graph')
  t.equal(fake.requests.filter(r => r.method === 'POST' && r.path === '/v1.0/subscriptions').length, 1, 'created once')
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM graph_subscriptions'), 1)

  for (let i = 0; i < 20; i++) box.addMessage('Inbox', makeEmail(i))
  await waitFor(async () => (await finishedCount(rt, spec.name as string)) === 20, '20 handled')
  await handledOnce(t, rt, spec.name as string, 20)
})
