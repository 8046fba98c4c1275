/**
 * One sync per mailbox at a time (a session advisory lock), taken together
 * with the poll start and let go with the success: every way out of a sync
 * lets go of the lock, and a sync that finds the lock taken is asked again.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { syncMailbox } from '../../src/ingestion/sync.ts'
import { lockKey } from '../../src/db/locks.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { startDovecot } from '../helpers/dovecot.ts'
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'

const imap = await startDovecot()
t.teardown(async () => await imap.stop())

async function mailbox (rt: TestRuntime, name: string, password?: string): Promise<number> {
  const u = imap.addUser()
  return (await createMailbox(rt.ctx, rt.ctx.pool, {
    name, provider: 'imap', imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: password ?? u.password, connectTimeoutSeconds: 5 }
  })).id
}

/**
 * Whether another session can take the mailbox's sync lock now (and lets go
 * of it again): a session of its own, since the pool's sessions may be the
 * one that holds it, and a session can always take its own lock again.
 */
async function lockIsFree (rt: TestRuntime, id: number): Promise<boolean> {
  const c = new pg.Client({ connectionString: rt.databaseUrl })
  await c.connect()
  try {
    const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [lockKey('sync', id)])
    return rows[0].ok
  } finally { await c.end() }
}

const health = async (rt: TestRuntime, id: number): Promise<{ health_state: string, polled: boolean, last_error: string | null }> =>
  (await rt.ctx.pool.query('SELECT health_state, last_poll_at IS NOT NULL AS polled, last_error FROM mailboxes WHERE id = $1', [id])).rows[0]

t.test('success, failure, a wrong key and a deleted mailbox all let go of the lock', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const good = await mailbox(rt, 'good')
  t.same(await syncMailbox(rt.ctx, { mailboxId: good, reason: 'manual' }), { listed: 0, stored: 0, queuedBatches: 0 })
  t.same(await health(rt, good), { health_state: 'ok', polled: true, last_error: null }, 'poll start and success recorded')
  const { rows: [next] } = await rt.ctx.pool.query<{ seconds: number }>(
    'SELECT extract(epoch FROM next_poll_at - last_poll_at)::float8 AS seconds FROM mailboxes WHERE id = $1', [good])
  t.equal(next.seconds, rt.ctx.settings.pollIntervalSeconds, 'the next poll an interval after the sync started')
  t.ok(await lockIsFree(rt, good), 'free after a success')

  const bad = await mailbox(rt, 'bad', 'wrong-password')
  await syncMailbox(rt.ctx, { mailboxId: bad, reason: 'manual' })
  t.equal((await health(rt, bad)).health_state, 'auth_failed')
  t.ok(await lockIsFree(rt, bad), 'free after a failure')

  const other = await startTestRuntime(t, { role: 'web', env: { MAILSLOT_ENCRYPTION_KEY: randomBytes(32).toString('base64') } })
  const sameDb = { ...other.ctx, pool: rt.ctx.pool, boss: rt.ctx.boss }
  await t.rejects(syncMailbox(sameDb, { mailboxId: good, reason: 'manual' }), /cannot decrypt the mailbox secrets/)
  t.match(await health(rt, good), { health_state: 'auth_failed', last_error: /MAILSLOT_ENCRYPTION_KEY/ }, 'a wrong key shows in the health')
  t.ok(await lockIsFree(rt, good), 'free after a wrong key')

  await rt.ctx.pool.query('DELETE FROM mailboxes WHERE id = $1', [good])
  t.same(await syncMailbox(rt.ctx, { mailboxId: good, reason: 'manual' }), { listed: 0, stored: 0, queuedBatches: 0, skipped: 'deleted' })
  t.ok(await lockIsFree(rt, good), 'free after a deleted mailbox')
})

t.test('a sync that finds the lock taken leaves the mailbox alone and is asked again', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const id = await mailbox(rt, 'busy')
  const holder = await rt.ctx.pool.connect()
  t.teardown(() => holder.release())
  await holder.query('SELECT pg_advisory_lock($1)', [lockKey('sync', id)])
  t.same(await syncMailbox(rt.ctx, { mailboxId: id, reason: 'notification' }), { listed: 0, stored: 0, queuedBatches: 0, skipped: 'locked' })
  t.equal((await health(rt, id)).polled, false, 'no poll start recorded')
  const { rows } = await rt.ctx.pool.query(`SELECT data, singleton_key FROM mailslot_boss.job WHERE name = 'mailbox-sync' AND state = 'created'`)
  t.same(rows.map(r => [r.data, r.singleton_key]), [[{ mailboxId: id, reason: 'notification' }, `${id}:again`]], 'asked again')
  await holder.query('SELECT pg_advisory_unlock($1)', [lockKey('sync', id)])
})
