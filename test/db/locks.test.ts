/** Lock keys stay what they were: a process of another version must contend for the same lock. */
import t from 'tap'
import { lockKey, lockKeySql } from '../../src/db/locks.ts'
import { createPool } from '../../src/db/pool.ts'
import { createTestDatabase } from '../helpers/db.ts'

t.test('sync and subscription keys keep their values', async t => {
  t.equal(lockKey('sync', 1), -7406927225642445718n)
  t.equal(lockKey('sync', 42), -1932966450180692519n)
  t.equal(lockKey('graph-subscription', 1), -704605892330313138n)
  t.equal(lockKey('graph-subscription', 42), 6812152788361088925n)
})

t.test('one mailbox\'s two locks differ', async t => {
  t.not(lockKey('sync', 7), lockKey('graph-subscription', 7))
})

t.test('the server computes the same keys (lockKeySql)', async t => {
  const pool = createPool(await createTestDatabase(t))
  t.teardown(async () => await pool.end())
  for (const namespace of ['sync', 'graph-subscription'] as const) {
    const { rows } = await pool.query<{ id: number, key: string }>(
      `SELECT id, (${lockKeySql(namespace, 'id')})::text AS key FROM unnest($1::bigint[]) AS ids(id)`, [[1, 42, 7, 123456789]])
    for (const { id, key } of rows) t.equal(BigInt(key), lockKey(namespace, Number(id)), `${namespace} ${id}`)
  }
})
