import t from 'tap'
import { makeEmail } from '../../helpers/emails.ts'
import { scanSubscriptions } from '../../../src/graph-webhooks/subscriptions/schedule.ts'
import { waitFor } from '../../helpers/wait.ts'
import { graphFixture, graphMailbox, handledOnce, view } from '../../helpers/graph-fixture.ts'
import { countRows, finishedCount } from '../../helpers/rows.ts'

t.test('poll mode: 50 messages through delta; an expired delta token forces a full resync without duplicates', async t => {
  const { fake, rt } = await graphFixture(t)
  const box = fake.addMailbox('carol@contoso.example')
  // read before mailslot knew the mailbox: history, not new mail
  box.addMessage('Inbox', makeEmail(1000, { subject: 'old and read' }))
  fake.resetStats()
  const old = box.messages('inbox')[0]
  await fetchPatchRead(fake, box.upn, old.id)
  for (let i = 0; i < 50; i++) box.addMessage('Inbox', makeEmail(i))
  const spec = graphMailbox(fake, box, { mode: 'poll', pollIntervalSeconds: 3600 })
  const name = spec.name as string
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201)
  await waitFor(async () => (await finishedCount(rt, name)) === 50, '50 handled', 30_000)
  await handledOnce(t, rt, name, 50)
  // marked after the commit that queued their handling: it may end after they are handled
  await waitFor(async () => box.messages('inbox').filter(m => m.isRead).length === 51, 'all marked read', 10_000)
  t.equal(box.messages('inbox').filter(m => m.isRead).length, 51, 'all marked read')
  t.equal((await view(rt, name)).subscription, null, 'poll mode: no subscription')
  t.same(fake.subscriptions(), [])
  const delta = fake.requests.filter(r => r.path.includes('/messages/delta'))
  t.ok(delta.every(r => r.token !== undefined), 'delta requests carry the token')
  t.ok(fake.requests.some(r => r.path.includes('/$value')), 'raw bytes by $value')
  // the cursor moves on after the marking, the last step of a batch
  const cursor = await waitFor(async () => {
    const { rows: [{ cursor }] } = await rt.ctx.pool.query('SELECT cursor FROM mailboxes WHERE name = $1', [name])
    return 'pending' in cursor ? null : cursor
  }, 'the listing done', 10_000)
  t.match(cursor, { deltaLink: /\$deltatoken=/ }, 'the deltaLink is the cursor')
  t.notOk('pending' in cursor, 'no listing left pending')

  // nothing new: a poll lists nothing and stores nothing
  await poll(rt, name)
  await waitFor(async () => fake.requests.filter(r => r.path.includes('$deltatoken')).length >= 1, 'an incremental delta')

  fake.expireDeltaTokens()
  for (let i = 50; i < 55; i++) box.addMessage('Inbox', makeEmail(i))
  await poll(rt, name)
  await waitFor(async () => (await finishedCount(rt, name)) === 55, '55 handled')
  t.ok(fake.requests.some(r => r.status === 410), 'the old token answered 410 syncStateNotFound')
  await handledOnce(t, rt, name, 55)
  t.equal((await view(rt, name)).health.state, 'ok')
})

t.test('afterDelivery move:<folder name> and delete; a message too large keeps only its headers', async t => {
  const { fake, rt } = await graphFixture(t)
  const mover = fake.addMailbox('dave@contoso.example')
  const deleter = fake.addMailbox('erin@contoso.example')
  mover.addFolder('Processed')
  for (let i = 0; i < 3; i++) mover.addMessage('Inbox', makeEmail(i))
  const big = makeEmail(99, { size: 20_000 })
  deleter.addMessage('Inbox', big)
  deleter.addMessage('Inbox', makeEmail(98, { size: 2000 }))
  const a = graphMailbox(fake, mover, { mode: 'poll', afterDelivery: 'move:Processed' })
  const b = graphMailbox(fake, deleter, { mode: 'poll', afterDelivery: 'delete', maxEmailBytes: 4096 })
  await rt.api('POST', '/api/v1/mailboxes', a)
  await rt.api('POST', '/api/v1/mailboxes', b)
  await waitFor(async () => (await finishedCount(rt, a.name as string)) === 3 && (await finishedCount(rt, b.name as string)) === 2, 'all handled')
  t.equal(mover.messages('inbox').length, 0, 'moved out of the inbox')
  t.equal(mover.messages('Processed').length, 3, 'into Processed')
  t.equal(deleter.messages('inbox').length, 0, 'deleted')
  t.equal(deleter.messages('deleteditems').length, 2, 'in Deleted Items')
  const { rows } = await rt.ctx.pool.query<{ raw_complete: boolean, raw: Buffer, status: string, reason: string | null, size: number }>(
    `SELECT e.raw_complete, e.raw, e.status, e.reason, e.size FROM inbound_emails e
     WHERE e.mailbox_name = $1 AND NOT e.raw_complete`, [b.name])
  t.equal(rows.length, 1, 'the large one kept headers only')
  t.ok(rows[0].raw.equals(big.subarray(0, big.indexOf('\r\n\r\n') + 4)), 'exactly its header block')
  t.same([rows[0].status, rows[0].reason], ['rejected', 'too_large'])
  // nothing is handled twice on the next poll
  await poll(rt, a.name as string)
  await poll(rt, b.name as string)
  await new Promise(resolve => setTimeout(resolve, 500))
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 5)
})

t.test('a webhook mailbox without MAILSLOT_PUBLIC_URL is polled and says why', async t => {
  const { fake, rt } = await graphFixture(t)
  const box = fake.addMailbox('frank@contoso.example')
  box.addMessage('Inbox', makeEmail(1))
  const spec = graphMailbox(fake, box, { pollIntervalSeconds: 30 })
  await rt.api('POST', '/api/v1/mailboxes', spec)
  await waitFor(async () => (await finishedCount(rt, spec.name as string)) === 1, 'handled by polling')
  const sub = await waitFor(async () => (await view(rt, spec.name as string)).subscription, 'subscription state shown')
  t.equal(sub.state, 'unavailable')
  t.match(sub.lastError, /MAILSLOT_PUBLIC_URL/)
  t.same(fake.subscriptions(), [])
  const next = await countRows(rt, 'SELECT extract(epoch FROM next_poll_at - last_success_at)::int AS n FROM mailboxes')
  t.ok(next <= 30, `polled every 30 s (${next})`)
  t.equal(await scanSubscriptions(rt.ctx), 0, 'the minute scan does not retry without a public URL')
})

async function poll (rt: { api: (m: string, u: string) => Promise<{ status: number }> }, name: string): Promise<void> {
  const res = await rt.api('POST', `/api/v1/mailboxes/${name}/poll`)
  if (res.status !== 202) throw new Error(`poll: ${res.status}`)
}

/** Marks a message read as its owner would (through the real SDK). */
async function fetchPatchRead (fake: Parameters<typeof graphMailbox>[0], user: string, id: string): Promise<void> {
  const { graphClientFor } = await import('../../fakes/graph/clients.ts')
  await graphClientFor(fake).api(`/users/${user}/messages/${id}`).patch({ isRead: true })
}
