/**
 * The notification fast path's look into pg-boss's job table: a sync queued
 * now under its key is seen waiting, and the stately queue keeps one per key.
 */
import t from 'tap'
import pg from 'pg'
import { BOSS_SCHEMA, createBoss, createQueues, insert } from '../../src/queue/boss.ts'
import { allWaitingQuery } from '../../src/queue/job-table.ts'
import { syncKeys } from '../../src/queue/queues.ts'
import { createTestDatabase } from '../helpers/db.ts'

t.test('every key waiting, or not', async t => {
  const url = await createTestDatabase(t)
  const boss = createBoss(url, { background: false, max: 2 })
  await boss.start()
  t.teardown(async () => { await boss.stop({ graceful: false, close: true }) })
  await createQueues(boss)
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  t.teardown(async () => { await db.end() })
  const allWaiting = async (ids: number[]): Promise<boolean> =>
    (await db.query(`WITH waiting AS (${allWaitingQuery('mailbox-sync', 1)}) SELECT all_waiting FROM waiting`, [ids.map(id => syncKeys.now(id))])).rows[0].all_waiting

  t.equal(await allWaiting([1]), false, 'nothing queued yet')
  await insert(boss, 'mailbox-sync', [1, 1, 2].map(mailboxId => ({ data: { mailboxId, reason: 'notification' }, singletonKey: syncKeys.now(mailboxId) })))
  await insert(boss, 'mailbox-sync', [{ data: { mailboxId: 3, reason: 'notification' }, singletonKey: syncKeys.again(3) }])
  t.equal(await allWaiting([1, 2]), true, 'both queued now')
  t.equal(await allWaiting([1, 3]), false, 'a sync asked again is not one wanted now')
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${BOSS_SCHEMA}.job WHERE name = 'mailbox-sync' AND singleton_key = $1`, [syncKeys.now(1)])
  t.equal(rows[0].n, 1, 'one waiting per key')
})
