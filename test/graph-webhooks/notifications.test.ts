import t from 'tap'
import { scanSubscriptions } from '../../src/graph-webhooks/subscriptions/schedule.ts'
import { waitFor } from '../helpers/wait.ts'
import { graphFixture, graphMailbox, syncJobs, view } from '../helpers/graph-fixture.ts'
import { countRows } from '../helpers/rows.ts'

const post = async (url: string, body: unknown, type = 'application/json'): Promise<Response> =>
  await fetch(url, { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) })

t.test('validation handshake echoes the decoded token as text/plain on both routes', async t => {
  const { rt } = await graphFixture(t)
  const token = 'Validation: Testing client+application reachability for subscription Request-Id: 5f0d%3a'
  for (const route of ['notifications', 'lifecycle']) {
    const url = new URL(`${rt.address as string}/graph/${route}`)
    url.searchParams.append('validationToken', token)
    const res = await post(url.toString(), '', 'text/plain; charset=utf-8')
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type'), /^text\/plain/)
    t.equal(await res.text(), token, `${route}: exactly the token`)
  }
})

t.test('forged notifications queue nothing; a genuine one does', async t => {
  const { fake, rt } = await graphFixture(t, { webhook: true })
  const box = fake.addMailbox('heidi@contoso.example')
  const spec = graphMailbox(fake, box)
  await rt.api('POST', '/api/v1/mailboxes', spec)
  await waitFor(async () => (await view(rt, spec.name as string)).subscription?.state === 'active', 'subscribed')
  const [sub] = fake.subscriptions()
  const item = (over: Record<string, unknown>): Record<string, unknown> => ({
    subscriptionId: sub.id, clientState: sub.clientState, changeType: 'created', tenantId: fake.tenantId,
    subscriptionExpirationDateTime: sub.expirationDateTime, resource: `Users/${box.id}/Messages/AAMkForged`,
    resourceData: { '@odata.type': '#Microsoft.Graph.Message', '@odata.id': `Users/${box.id}/Messages/AAMkForged`, id: 'AAMkForged' },
    ...over
  })
  const url = `${rt.address as string}/graph/notifications`
  const since = new Date()
  const notes = async (): Promise<number> => await countRows(rt, 'SELECT count(*)::int AS n FROM graph_notifications')
  const before = await notes()

  t.equal((await post(url, { value: [item({ clientState: 'not-the-secret' })] })).status, 202, 'wrong clientState: 202 all the same')
  t.equal((await post(url, { value: [item({ subscriptionId: '7c2b3f5e-0000-4000-8000-000000000000' })] })).status, 202, 'unknown subscription')
  t.equal((await post(url, { value: [item({ clientState: undefined })] })).status, 202, 'no clientState')
  t.equal(await syncJobs(rt, 'notification', since), 0, 'no sync queued')
  t.equal(await notes(), before, 'nothing recorded')
  const metrics = (await rt.api('GET', '/metrics')).text
  t.match(metrics, /result="client_state_mismatch"\} 2/)
  t.match(metrics, /result="unknown_subscription"\} 1/)

  t.equal((await post(url, { value: [item({ resourceData: { id: 'AAMkGenuine' } })] })).status, 202)
  t.equal(await syncJobs(rt, 'notification', since), 1, 'the genuine one queued a sync')
  t.equal(await notes(), before + 1, 'and was recorded')
  t.equal((await post(url, { value: [item({ resourceData: { id: 'AAMkGenuine' } })] })).status, 202, 'a redelivery is accepted')
  t.equal(await notes(), before + 2, 'and logged')

  // the minute scan: nothing is due for a live subscription; day-old rows go
  await rt.ctx.pool.query(`INSERT INTO graph_notifications (subscription_id, resource_id, change_type, mailbox_id, received_at)
    VALUES ($1, 'AAMkOld', 'created', 1, now() - interval '2 days')`, [sub.id])
  t.equal(await scanSubscriptions(rt.ctx), 0, 'no subscription work due')
  t.equal(await countRows(rt, `SELECT count(*)::int AS n FROM graph_notifications WHERE received_at < now() - interval '1 day'`), 0, 'old rows purged')
  t.equal(await notes(), before + 2, 'recent rows kept')
})

t.test('malformed bodies', async t => {
  const { rt } = await graphFixture(t)
  const url = `${rt.address as string}/graph/notifications`
  t.equal((await post(url, '{"value": ')).status, 400, 'not JSON')
  t.equal((await post(url, { value: 'x' })).status, 400, 'value not an array')
  t.equal((await post(url, {})).status, 400, 'no value')
  t.equal((await post(url, { value: Array.from({ length: 1001 }, () => ({})) })).status, 400, 'too many items')
  const big = await post(url, { value: [{ pad: 'x'.repeat(1024 * 1024) }] })
  t.equal(big.status, 413, 'over 1 MB')
  t.equal((await post(url, 'a=b', 'application/x-www-form-urlencoded')).status, 415)
  t.equal((await post(url, { value: [] })).status, 202, 'empty batch')
})
