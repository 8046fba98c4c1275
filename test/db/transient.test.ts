/** Which database errors are worth retrying, over errors produced for real against the test server. */
import pg from 'pg'
import t from 'tap'
import { freePort } from '../../src/db/embedded.ts'
import { createPool } from '../../src/db/pool.ts'
import { isPermanentConnectError, isTransientDbError } from '../../src/db/transient.ts'
import { createTestDatabase } from '../helpers/db.ts'

const url = await createTestDatabase(t)

/** What `fn` throws (or rejects with). */
async function thrown (fn: () => Promise<unknown>): Promise<unknown> {
  try { await fn() } catch (err) { return err }
  throw new Error('expected an error')
}

async function connected (connectionString = url): Promise<pg.Client> {
  const client = new pg.Client({ connectionString })
  client.on('error', () => {})
  await client.connect()
  t.teardown(async () => { await client.end().catch(() => {}) })
  return client
}

t.test('connection-level errors are transient', async t => {
  const closed = await thrown(async () => await connected(`postgres://x:y@127.0.0.1:${await freePort()}/db`))
  t.match(closed, { code: 'ECONNREFUSED' })
  t.ok(isTransientDbError(closed), 'ECONNREFUSED (the server not listening)')

  const victim = await connected()
  const terminated = await thrown(async () => await victim.query('SELECT pg_terminate_backend(pg_backend_pid())'))
  t.match(terminated, { code: '57P01' })
  t.ok(isTransientDbError(terminated), '57P01 admin shutdown (a restart, a terminated backend)')
  const after = await thrown(async () => await victim.query('SELECT 1'))
  t.ok(isTransientDbError(after), `the next query on the dead client: ${String(after)}`)

  // an idle pooled client whose backend is terminated, then the pool's next checkout fails
  const killer = await connected()
  const pool = createPool(url, 1)
  t.teardown(async () => { await pool.end() })
  const held = await pool.connect()
  const pid = (await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid
  await killer.query('SELECT pg_terminate_backend($1)', [pid])
  const lost = await thrown(async () => await held.query('SELECT 1'))
  t.ok(isTransientDbError(lost), `a checked-out client whose backend went away: ${String(lost)}`)
  held.release(lost as Error)
  t.equal((await pool.query<{ ok: number }>('SELECT 1 AS ok')).rows[0].ok, 1, 'the pool replaced the dead client')

  t.ok(isTransientDbError(new Error('Connection terminated unexpectedly')), 'pg\'s message without a code')
  t.ok(isTransientDbError(new Error('wrapped', { cause: terminated })), 'through a cause')
  t.ok(isTransientDbError(new AggregateError([closed], 'every address refused')), 'through an AggregateError')
})

t.test('a deadlock victim is transient', async t => {
  const a = await connected()
  const b = await connected()
  await a.query('CREATE TABLE dl (id int PRIMARY KEY); INSERT INTO dl VALUES (1), (2)')
  await a.query('BEGIN; UPDATE dl SET id = id WHERE id = 1')
  await b.query('BEGIN; UPDATE dl SET id = id WHERE id = 2')
  const results = await Promise.allSettled([a.query('UPDATE dl SET id = id WHERE id = 2'), b.query('UPDATE dl SET id = id WHERE id = 1')])
  const victim = results.find(r => r.status === 'rejected')
  t.match(victim, { reason: { code: '40P01' } })
  t.ok(isTransientDbError(victim?.reason))
  await a.query('ROLLBACK')
  await b.query('ROLLBACK')
})

t.test('errors of the statement or the data are not transient', async t => {
  const c = await connected()
  const syntax = await thrown(async () => await c.query('SELEC 1'))
  t.match(syntax, { code: '42601' })
  t.notOk(isTransientDbError(syntax), 'syntax error')
  await c.query('CREATE TABLE u (id int PRIMARY KEY); INSERT INTO u VALUES (1)')
  const duplicate = await thrown(async () => await c.query('INSERT INTO u VALUES (1)'))
  t.match(duplicate, { code: '23505' })
  t.notOk(isTransientDbError(duplicate), 'unique violation')
  t.notOk(isTransientDbError(new Error('something else')))
  t.notOk(isTransientDbError(undefined))
})

t.test('refused credentials and a missing database are permanent, not transient', async t => {
  const wrongPassword = new URL(url)
  wrongPassword.password = 'not-the-password'
  const refused = await thrown(async () => await connected(wrongPassword.toString()))
  t.match(refused, { code: '28P01' })
  t.ok(isPermanentConnectError(refused))
  t.notOk(isTransientDbError(refused))
  const noDb = new URL(url)
  noDb.pathname = '/mailslot_no_such_database'
  const missing = await thrown(async () => await connected(noDb.toString()))
  t.match(missing, { code: '3D000' })
  t.ok(isPermanentConnectError(missing))
  t.notOk(isTransientDbError(missing))
})
