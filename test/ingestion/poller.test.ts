/**
 * The poller (src/ingestion/poller.ts) on web-role runtimes, so that nothing
 * else polls: due mailboxes are polled once each at their interval, across
 * two processes; a mailbox another sync holds waits for it; an empty poll
 * costs the mail server a login, a STATUS and a logout, and PostgreSQL a
 * fraction of a statement; stopping lets every lock go.
 */
import t from 'tap'
import type { Test } from 'tap'
import { lockKey } from '../../src/db/locks.ts'
import { startPoller } from '../../src/ingestion/poller.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { claimDuePolls } from '../../src/mailboxes/sync-state.ts'
import type { MailboxSpec } from '../../src/mailboxes/types.ts'
import { startDovecot, type Dovecot } from '../helpers/dovecot.ts'
import { startImapProxy, type ImapProxy } from '../helpers/imap-proxy.ts'
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { counted } from '../helpers/counted.ts'

const imap = await startDovecot()
t.teardown(async () => await imap.stop())

interface Watched { id: number, proxy: ImapProxy }

/** A mailbox on its own Dovecot user behind its own proxy (which counts its sessions), not due until `dueIn` seconds. */
async function watchedMailbox (t: Test, rt: TestRuntime, dovecot: Dovecot, name: string, dueIn: number | 'never', over: Partial<MailboxSpec> = {}): Promise<Watched> {
  const proxy = await startImapProxy(dovecot)
  t.teardown(async () => await proxy.close())
  const u = dovecot.addUser()
  const { id } = await createMailbox(rt.ctx, rt.ctx.pool, {
    name, provider: 'imap', imap: { host: proxy.host, port: proxy.port, tls: 'none', user: u.user, password: u.password }, ...over
  })
  await setDue(rt, id, dueIn)
  return { id, proxy }
}

async function setDue (rt: TestRuntime, id: number, dueIn: number | 'never'): Promise<void> {
  await rt.ctx.pool.query(`UPDATE mailboxes SET next_poll_at = ${dueIn === 'never' ? "'infinity'" : 'now() + make_interval(secs => $2)'} WHERE id = $1`,
    dueIn === 'never' ? [id] : [id, dueIn])
}

async function row (rt: TestRuntime, id: number): Promise<{ health: string, nextIn: number, polled: boolean }> {
  const { rows } = await rt.ctx.pool.query(
    `SELECT health_state AS health, extract(epoch FROM next_poll_at - now())::float8 AS "nextIn", last_poll_at IS NOT NULL AS polled FROM mailboxes WHERE id = $1`, [id])
  return rows[0]
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function until (what: string, ok: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(100)
  }
}

t.test('each due mailbox is polled at its time and interval; one not due, or waiting for its owner, is not', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const due = await watchedMailbox(t, rt, imap, 'due', -120, { pollIntervalSeconds: 300 })
  const soon = await watchedMailbox(t, rt, imap, 'soon', 3, { pollIntervalSeconds: 300 })
  const every5 = await watchedMailbox(t, rt, imap, 'every-5s', 0, { pollIntervalSeconds: 5 })
  const later = await watchedMailbox(t, rt, imap, 'later', 600)
  const reauth = await watchedMailbox(t, rt, imap, 'reauth', 'never')
  const started = Date.now()
  const stop = startPoller(rt.ctx, { tickMs: 200 })
  t.teardown(stop)

  await until('the due mailbox is polled', async () => (await row(rt, due.id)).health === 'ok', 5000)
  t.ok(Date.now() - started < 2000, 'the overdue one at once')
  t.equal((await row(rt, soon.id)).polled, false, 'the one due in 3 s not yet')
  await until('the one due in 3 s is polled', async () => (await row(rt, soon.id)).health === 'ok', 8000)
  const soonAt = Date.now() - started
  t.ok(soonAt >= 2500 && soonAt < 5000, `at its time (${soonAt} ms after the start)`)

  await sleep(16_500 - (Date.now() - started))
  const polls5 = every5.proxy.accepted()
  t.ok(polls5 >= 3 && polls5 <= 4, `a 5 s interval: ${polls5} polls in 16.5 s`)
  t.equal(due.proxy.accepted(), 1, 'a 300 s interval: polled once')
  t.equal(soon.proxy.accepted(), 1)
  const next = await row(rt, due.id)
  t.ok(next.nextIn > 280 && next.nextIn <= 300, `next poll in ${next.nextIn.toFixed(0)} s`)
  t.equal(later.proxy.accepted(), 0, 'the one due in 10 minutes: not polled')
  t.equal(reauth.proxy.accepted(), 0, 'the one waiting for its owner: not polled')
})

t.test('two processes poll each due mailbox once between them', async t => {
  const a = await startTestRuntime(t, { role: 'web' })
  const b = await startTestRuntime(t, { role: 'web', databaseUrl: a.databaseUrl, env: { MAILSLOT_ENCRYPTION_KEY: a.env.MAILSLOT_ENCRYPTION_KEY } })
  // 40: more than one claim's worth for each
  const boxes: Watched[] = []
  for (let i = 0; i < 40; i++) boxes.push(await watchedMailbox(t, a, imap, `shared-${i}`, 'never', { pollIntervalSeconds: 600 }))
  const stops = [startPoller(a.ctx, { tickMs: 200 }), startPoller(b.ctx, { tickMs: 200 })]
  t.teardown(async () => { await Promise.all(stops.map(async stop => await stop())) })
  await a.ctx.pool.query(`UPDATE mailboxes SET next_poll_at = now()`)
  await until('all are polled', async () => {
    const { rows } = await a.ctx.pool.query(`SELECT count(*)::int AS n FROM mailboxes WHERE health_state = 'ok'`)
    return rows[0].n === boxes.length
  })
  await sleep(2000)
  t.same(boxes.map(b => b.proxy.accepted()), boxes.map(() => 1), 'one session each at the server')
  const { rows } = await a.ctx.pool.query<{ low: number, high: number }>(
    `SELECT min(extract(epoch FROM next_poll_at - now()))::float8 AS low, max(extract(epoch FROM next_poll_at - now()))::float8 AS high FROM mailboxes`)
  t.ok(rows[0].low > 590 && rows[0].high <= 600, 'each next poll its interval away')
  const { rows: [basis] } = await a.ctx.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM mailboxes WHERE next_poll_at = last_poll_at + interval '600 seconds'`)
  t.equal(basis.n, boxes.length, 'each next poll an interval after its poll started, not after its outcome was recorded')
})

t.test('a mailbox whose sync runs elsewhere is polled once that sync lets go', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const busy = await watchedMailbox(t, rt, imap, 'busy', 0)
  const holder = await rt.ctx.pool.connect()
  t.teardown(() => { holder.release() })
  await holder.query('SELECT pg_advisory_lock($1)', [lockKey('sync', busy.id)])
  const stop = startPoller(rt.ctx, { tickMs: 200 })
  t.teardown(stop)
  await sleep(2500)
  t.equal(busy.proxy.accepted(), 0, 'not polled while another sync holds it')
  t.equal((await row(rt, busy.id)).polled, false, 'nor its poll start recorded')
  await holder.query('SELECT pg_advisory_unlock($1)', [lockKey('sync', busy.id)])
  await until('it is polled', async () => (await row(rt, busy.id)).health === 'ok', 8000)
  t.equal(busy.proxy.accepted(), 1)
})

t.test('an empty poll: login, STATUS and logout at the server; a fraction of a statement in PostgreSQL', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const boxes: Watched[] = []
  for (let i = 0; i < 20; i++) boxes.push(await watchedMailbox(t, rt, imap, `empty-${i}`, 'never'))
  // a first poll of each (pending → ok, a health change) before the counted one
  for (const b of boxes) await setDue(rt, b.id, 0)
  const warm = startPoller(rt.ctx, { tickMs: 200 })
  await until('the first polls are done', async () => {
    const { rows } = await rt.ctx.pool.query(`SELECT count(*)::int AS n FROM mailboxes WHERE health_state = 'ok'`)
    return rows[0].n === boxes.length
  })
  await warm()

  const c = counted(rt.ctx)
  await rt.ctx.pool.query('UPDATE mailboxes SET next_poll_at = now()')
  const stop = startPoller(c.ctx, { tickMs: 200 })
  await until('the second polls are done', () => boxes.every(b => b.proxy.accepted() === 2))
  await stop()
  const statements = c.statements()
  // claims and records of several polls each, and the LISTEN of the poller's connection
  t.ok(statements <= boxes.length, `${statements} statements for ${boxes.length} empty polls: at most one a poll`)
  const { rows } = await rt.ctx.pool.query(`SELECT count(*)::int AS n FROM mailboxes WHERE health_state = 'ok' AND last_success_at > now() - interval '1 minute' AND next_poll_at > now() + interval '50 seconds'`)
  t.equal(rows[0].n, boxes.length, 'every success recorded, with its next poll')

  const commands = boxes[0].proxy.commands()
  const session = commands.slice(commands.indexOf('LOGOUT') + 1)
  // ID (before and after the login) and NAMESPACE are imapflow's own start of
  // a session, which no option turns off; no LIST, LSUB, SELECT or SEARCH
  t.same(session, ['ID', 'AUTHENTICATE', 'ID', 'NAMESPACE', 'STATUS', 'LOGOUT'], `the session's commands: ${session.join(' ')}`)
})

t.test('stopping records what ended and leaves no lock behind', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const boxes: Watched[] = []
  for (let i = 0; i < 5; i++) boxes.push(await watchedMailbox(t, rt, imap, `stop-${i}`, 0))
  const stop = startPoller(rt.ctx, { tickMs: 200 })
  await until('all are polled', () => boxes.every(b => b.proxy.accepted() === 1))
  await stop()
  const { rows } = await rt.ctx.pool.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`)
  t.equal(rows[0].n, 0, 'no advisory lock held')
  const { rows: ok } = await rt.ctx.pool.query(`SELECT count(*)::int AS n FROM mailboxes WHERE health_state = 'ok'`)
  t.equal(ok[0].n, boxes.length, 'every outcome recorded')
})

t.test('a mailbox made through the API wakes the pollers: polled at once, by one session, with no sync job queued', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const stop = startPoller(rt.ctx, { tickMs: 200 })
  t.teardown(stop)
  // nothing due: the poller sleeps its longest (5 s) before it looks again
  await sleep(1000)
  const proxy = await startImapProxy(imap)
  t.teardown(async () => await proxy.close())
  const u = imap.addUser()
  const made = Date.now()
  const { status, body } = await rt.api('POST', '/api/v1/mailboxes', {
    name: 'new', provider: 'imap', imap: { host: proxy.host, port: proxy.port, tls: 'none', user: u.user, password: u.password }
  })
  t.equal(status, 201, JSON.stringify(body))
  const { rows: [{ id }] } = await rt.ctx.pool.query(`SELECT id FROM mailboxes WHERE name = 'new'`)
  await until('it is polled', async () => (await row(rt, id)).health === 'ok', 5000)
  t.ok(Date.now() - made < 2000, `polled ${Date.now() - made} ms after it was made`)
  await sleep(2500)
  t.equal(proxy.accepted(), 1, 'one session')
  const { rows } = await rt.ctx.pool.query(`SELECT count(*)::int AS n FROM mailslot_boss.job WHERE name = 'mailbox-sync'`)
  t.equal(rows[0].n, 0, 'no sync job')
})

t.test('a claim whose process died: its lock dies with the connection, and the mailbox is claimed again once the claim lapses', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const box = await watchedMailbox(t, rt, imap, 'orphaned', 0)
  const dying = await rt.ctx.pool.connect()
  const first = await claimDuePolls(dying, 16, 1)
  t.same(first.rows.map(r => r.id), [box.id], 'claimed, with a 1 s claim')
  const other = await rt.ctx.pool.connect()
  t.teardown(() => { other.release() })
  t.same((await claimDuePolls(other, 16, 1)).rows, [], 'not claimable while the claim holds')
  // the process dies: its connection goes, and its locks with it
  dying.release(new Error('process died'))
  await sleep(1200)
  t.same((await claimDuePolls(other, 16, 60)).rows.map(r => r.id), [box.id], 'claimed again once the claim lapsed')
  await other.query('SELECT pg_advisory_unlock_all()')
})
