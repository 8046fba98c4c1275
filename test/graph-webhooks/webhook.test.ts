import t from 'tap'
import { runCli } from '../helpers/cli.ts'
import { makeEmail } from '../helpers/emails.ts'
import { waitFor } from '../helpers/wait.ts'
import { graphFixture, graphMailbox, handledOnce, syncJobs, view } from '../helpers/graph-fixture.ts'
import { countRows, finishedCount } from '../helpers/rows.ts'

t.test('webhook mode: a real handshake, then 50 messages arrive by notification and are handled once, marked read', async t => {
  const { fake, rt, publicUrl } = await graphFixture(t, { webhook: true })
  const box = fake.addMailbox('alice@contoso.example')
  const spec = graphMailbox(fake, box)
  const name = spec.name as string
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201)

  const sub = await waitFor(async () => (await view(rt, name)).subscription?.state === 'active' && (await view(rt, name)).subscription, 'subscription active')
  const live = fake.subscriptions()
  t.equal(live.length, 1, 'one subscription at Graph')
  t.equal(sub.id, live[0].id)
  t.equal(live[0].notificationUrl, `${publicUrl as string}/graph/notifications`)
  t.equal(live[0].lifecycleNotificationUrl, `${publicUrl as string}/graph/lifecycle`)
  t.equal(live[0].resource, `users/${box.upn}/mailFolders('Inbox')/messages`)
  t.equal(live[0].changeType, 'created')
  t.ok((live[0].clientState ?? '').length >= 32 && (live[0].clientState ?? '').length <= 128, 'a long random clientState')
  t.ok(fake.deliveries.filter(d => d.kind === 'validation' && d.status === 200).length >= 2, 'both URLs passed the handshake')
  t.notMatch(JSON.stringify(await view(rt, name)), live[0].clientState as string, 'the clientState is never shown')
  const cli = await runCli(['mailbox', 'list'], rt.env)
  t.match(cli.stdout, new RegExp(`${name}\\s+graph\\s+\\S+\\s+active until ${sub.expiresAt as string}`), 'mailbox list shows the subscription')
  const { rows: [stored] } = await rt.ctx.pool.query('SELECT client_state FROM graph_subscriptions')
  t.notOk((stored.client_state as Buffer).includes(Buffer.from(live[0].clientState as string)), 'stored sealed')

  const raws = Array.from({ length: 50 }, (_, i) => makeEmail(i, { body: `8-bit: Gr\u00fc\u00dfe ${i}\r\n` }))
  for (const raw of raws) box.addMessage('Inbox', raw)
  await waitFor(async () => (await finishedCount(rt, name)) === 50, '50 handled', 30_000)
  await handledOnce(t, rt, name, 50)
  // marked after the commit that queued their handling: it may end after they are handled
  await waitFor(async () => box.messages('inbox').filter(m => m.isRead).length === 50, 'all marked read at Graph', 10_000)
  t.equal(box.messages('inbox').filter(m => m.isRead).length, 50, 'all marked read at Graph')
  t.ok(await syncJobs(rt, 'notification') >= 1, 'synced because of notifications')
  t.ok(await countRows(rt, 'SELECT count(*)::int AS n FROM graph_notifications') >= 1, 'notifications recorded')
  t.match((await rt.api('GET', '/metrics')).text, /mailslot_graph_notifications_total\{result="accepted"\} [1-9]/)

  // the exact bytes, 8-bit body included
  const { rows } = await rt.ctx.pool.query<{ id: number, message_id: string }>('SELECT id, message_id FROM inbound_emails ORDER BY id LIMIT 3')
  for (const row of rows) {
    const raw = raws.find(r => r.includes(Buffer.from(row.message_id)))!
    const res = await fetch(`${rt.address as string}/api/v1/emails/${row.id}/raw`, { headers: { authorization: `Bearer ${rt.token}` } })
    t.ok(Buffer.from(await res.arrayBuffer()).equals(raw), `raw of email ${row.id} identical`)
  }

  // a live subscription: only a safety resync every 15 minutes, no 60 s polling
  const next = await countRows(rt, `SELECT extract(epoch FROM next_poll_at - now())::int AS n FROM mailboxes WHERE name = $1`, [name])
  t.ok(next > 800 && next <= 900, `next safety sync in ${next} s`)
  t.ok(fake.maxConcurrentPerMailbox <= 4, `at most 4 requests at once (${fake.maxConcurrentPerMailbox})`)
})

t.test('deleting the mailbox deletes its subscription at Graph', async t => {
  const { fake, rt } = await graphFixture(t, { webhook: true })
  const box = fake.addMailbox('bob@contoso.example')
  const spec = graphMailbox(fake, box)
  await rt.api('POST', '/api/v1/mailboxes', spec)
  await waitFor(async () => fake.subscriptions().length === 1 && (await view(rt, spec.name as string)).subscription?.state === 'active', 'subscribed')
  t.equal((await rt.api('DELETE', `/api/v1/mailboxes/${spec.name as string}`)).status, 204)
  t.same(fake.subscriptions(), [], 'gone at Graph')
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM graph_subscriptions'), 0)
})
