/**
 * The mailbox-controller's one query, run by hand on a web-role runtime (no
 * worker takes the syncs it queues): due mailboxes get one sync each, however
 * often it runs; mailboxes backing off or not yet due get none.
 */
import t from 'tap'
import { queueDueSyncs } from '../../src/ingestion/controller.ts'
import { syncMailbox } from '../../src/ingestion/sync.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import type { MailboxSpec } from '../../src/mailboxes/types.ts'
import { startDovecot } from '../helpers/dovecot.ts'
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'

interface SyncJob { state: string, startAfter: Date }

/** Every mailbox-sync job of one mailbox, whatever its singleton key. */
async function syncJobs (rt: TestRuntime, mailboxId: number): Promise<SyncJob[]> {
  const { rows } = await rt.ctx.pool.query<SyncJob>(
    `SELECT state, start_after AS "startAfter" FROM mailslot_boss.job WHERE name = 'mailbox-sync' AND (data->>'mailboxId')::bigint = $1`,
    [mailboxId])
  return rows
}

/** Created straight in the registry: the API would also queue an immediate sync. */
async function addMailbox (rt: TestRuntime, name: string, over: Partial<MailboxSpec> = {}): Promise<number> {
  const spec: MailboxSpec = { name, provider: 'imap', imap: { host: '127.0.0.1', port: 9, tls: 'none', user: name, password: 'p' }, ...over }
  return (await createMailbox(rt.ctx, rt.ctx.pool, spec)).id
}

async function setNextPoll (rt: TestRuntime, id: number, secondsFromNow: number): Promise<void> {
  await rt.ctx.pool.query('UPDATE mailboxes SET next_poll_at = now() + make_interval(secs => $2) WHERE id = $1', [id, secondsFromNow])
}

async function nextPollIn (rt: TestRuntime, id: number): Promise<number> {
  const { rows } = await rt.ctx.pool.query<{ s: number }>('SELECT extract(epoch FROM next_poll_at - now())::float8 AS s FROM mailboxes WHERE id = $1', [id])
  return rows[0].s
}

t.test('one sync per due mailbox, no backlog however often it runs, none for a mailbox backing off', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const overdue = await addMailbox(rt, 'overdue')
  const soon = await addMailbox(rt, 'soon')
  // nothing listens on port 9: two failed syncs push its next poll back 2 × 90 s
  const backingOff = await addMailbox(rt, 'backing-off', { pollIntervalSeconds: 90 })
  for (let i = 0; i < 2; i++) await syncMailbox(rt.ctx, { mailboxId: backingOff, reason: 'schedule' })
  const { rows: [health] } = await rt.ctx.pool.query('SELECT health_state, consecutive_failures FROM mailboxes WHERE id = $1', [backingOff])
  t.same(health, { health_state: 'failing', consecutive_failures: 2 })
  t.ok(await nextPollIn(rt, backingOff) > 170, 'backing off')
  await setNextPoll(rt, overdue, -120)
  await setNextPoll(rt, soon, 30)

  for (let i = 0; i < 10; i++) t.equal(await queueDueSyncs(rt.ctx), 2, `run ${i + 1}: two mailboxes are due within the minute`)

  const overdueJobs = await syncJobs(rt, overdue)
  t.equal(overdueJobs.length, 1, 'one sync for the overdue mailbox after 10 runs')
  t.equal(overdueJobs[0].state, 'created')
  t.ok(overdueJobs[0].startAfter.getTime() <= Date.now() + 1000, 'startable now')

  const soonJobs = await syncJobs(rt, soon)
  t.equal(soonJobs.length, 1, 'one sync for the mailbox due in 30 s')
  const { rows } = await rt.ctx.pool.query<{ due: Date }>('SELECT next_poll_at AS due FROM mailboxes WHERE id = $1', [soon])
  t.ok(Math.abs(soonJobs[0].startAfter.getTime() - rows[0].due.getTime()) < 1000, 'it starts at the mailbox\'s due time, not at once')

  t.same(await syncJobs(rt, backingOff), [], 'a mailbox in backoff is not queued')

  const { rows: created } = await rt.ctx.pool.query<{ n: number }>(
    `SELECT max(n)::int AS n FROM (SELECT count(*) AS n FROM mailslot_boss.job
       WHERE name = 'mailbox-sync' AND state = 'created' GROUP BY data->>'mailboxId') per_mailbox`)
  t.equal(created[0].n, 1, 'at most one waiting sync per mailbox')
})

t.test('after a successful sync the next poll is the mailbox\'s own interval away', async t => {
  const imap = await startDovecot()
  t.teardown(async () => await imap.stop())
  const rt = await startTestRuntime(t, { role: 'web', env: { MAILSLOT_POLL_INTERVAL: '45' } })
  const account = (): MailboxSpec['imap'] => { const u = imap.addUser(); return { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password } }
  const slow = await addMailbox(rt, 'slow', { imap: account(), pollIntervalSeconds: 300 })
  const usual = await addMailbox(rt, 'usual', { imap: account() })

  for (const id of [slow, usual]) {
    const outcome = await syncMailbox(rt.ctx, { mailboxId: id, reason: 'schedule' })
    t.equal(outcome.skipped, undefined, 'the sync ran')
  }
  const slowIn = await nextPollIn(rt, slow)
  const usualIn = await nextPollIn(rt, usual)
  t.ok(slowIn > 295 && slowIn <= 300, `pollIntervalSeconds 300: next poll in ${slowIn.toFixed(1)} s`)
  t.ok(usualIn > 40 && usualIn <= 45, `MAILSLOT_POLL_INTERVAL 45: next poll in ${usualIn.toFixed(1)} s`)
  const { rows } = await rt.ctx.pool.query(`SELECT health_state FROM mailboxes ORDER BY id`)
  t.same(rows.map(r => r.health_state), ['ok', 'ok'])

  t.equal(await queueDueSyncs(rt.ctx), 1, 'only the mailbox due within the minute')
  t.same(await syncJobs(rt, slow), [], 'not the one polled every 5 minutes')
  const usualJobs = await syncJobs(rt, usual)
  t.equal(usualJobs.length, 1)
  const startsIn = (usualJobs[0].startAfter.getTime() - Date.now()) / 1000
  t.ok(startsIn > 40 && startsIn <= 45, `queued to start at its due time (${startsIn.toFixed(1)} s)`)
})

t.test('a mailbox polled more often than the controller runs is polled at its own interval', async t => {
  const imap = await startDovecot()
  t.teardown(async () => await imap.stop())
  const rt = await startTestRuntime(t)
  const u = imap.addUser()
  const id = await addMailbox(rt, 'every-5s', { imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password }, pollIntervalSeconds: 5 })
  // the first sync by hand; every later one is the schedule's
  t.equal((await rt.api('POST', '/api/v1/mailboxes/every-5s/poll')).status, 202)
  // the controller runs once a minute: without the sync queueing its
  // successor, 40 s would see two polls at most
  const polls = new Set<number>()
  const deadline = Date.now() + 40_000
  while (polls.size < 4 && Date.now() < deadline) {
    const { rows } = await rt.ctx.pool.query<{ at: Date | null }>('SELECT last_poll_at AS at FROM mailboxes WHERE id = $1', [id])
    if (rows[0].at !== null) polls.add(rows[0].at.getTime())
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  t.ok(polls.size >= 4, `${polls.size} polls within 40 s at a 5 s interval`)
  const { rows } = await rt.ctx.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM mailslot_boss.job WHERE name = 'mailbox-sync' AND state = 'created' AND (data->>'mailboxId')::bigint = $1`, [id])
  t.ok(rows[0].n <= 1, 'never more than one sync waiting')
})
