import t, { type Test } from 'tap'
import { mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { createPool } from '../../src/db/pool.ts'
import { listMigrations, migrate } from '../../src/db/migrate.ts'
import { serverUrl, withDatabase } from '../setup/shared-db.ts'

async function emptyDatabase (t: Test): Promise<string> {
  const server = await serverUrl()
  const name = `mailslot_mig_${Math.random().toString(36).slice(2, 10)}`
  const c = new pg.Client({ connectionString: server }); await c.connect()
  await c.query(`CREATE DATABASE ${name} TEMPLATE template0`); await c.end()
  t.teardown(async () => {
    const d = new pg.Client({ connectionString: server }); await d.connect()
    await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); await d.end()
  })
  return withDatabase(server, name)
}

t.test('two migrators at the same moment apply each migration exactly once', async t => {
  const url = await emptyDatabase(t)
  const pools = [createPool(url, 2), createPool(url, 2), createPool(url, 2)]
  t.teardown(async () => { for (const p of pools) await p.end() })
  const results = await Promise.all(pools.map(async p => await migrate(p)))
  const all = (await listMigrations()).map(m => m.id)
  // together they applied every migration once; no migration twice
  t.same(results.flat().sort(), all)
  const { rows } = await pools[0].query('SELECT id FROM mailslot_migrations ORDER BY id')
  t.same(rows.map(r => r.id), all)
  t.same(await migrate(pools[0]), [], 'a second run applies nothing')
})

t.test('a database newer than the code is refused', async t => {
  const url = await emptyDatabase(t)
  const pool = createPool(url, 1)
  t.teardown(async () => await pool.end())
  await migrate(pool)
  await pool.query(`INSERT INTO mailslot_migrations (id, name) VALUES (9999, 'from_the_future')`)
  await t.rejects(migrate(pool), /migrated by a newer version/)
})

t.test('a failing migration rolls back and is not recorded', async t => {
  const url = await emptyDatabase(t)
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mig-'))
  await writeFile(path.join(dir, '0001_ok.sql'), 'CREATE TABLE a (x int);')
  await writeFile(path.join(dir, '0002_bad.sql'), 'CREATE TABLE b (x int); SELECT nope FROM nowhere;')
  const pool = createPool(url, 1)
  t.teardown(async () => await pool.end())
  await t.rejects(migrate(pool, dir), /0002_bad\.sql failed/)
  const { rows } = await pool.query('SELECT id FROM mailslot_migrations')
  t.same(rows.map(r => r.id), [1])
  const b = await pool.query(`SELECT to_regclass('b') AS b`)
  t.equal(b.rows[0].b, null, 'the failed migration left nothing behind')
})
