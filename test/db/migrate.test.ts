import t, { type Test } from 'tap'
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises'
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
  t.same(results.flat().sort((a, b) => a - b), all)
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

t.test('0006 moves each stored raw into its inbound_emails row, byte for byte, and keeps every row with its raw or its purge', async t => {
  const url = await emptyDatabase(t)
  const before = await mkdtemp(path.join(os.tmpdir(), 'mig-'))
  for (const m of (await listMigrations()).filter(m => m.id < 6)) await copyFile(m.file, path.join(before, path.basename(m.file)))
  const pool = createPool(url, 1)
  t.teardown(async () => await pool.end())
  await migrate(pool, before)
  const raw = Buffer.from([0x00, 0xff, 0x0d, 0x0a, ...Buffer.from('Subject: kept\r\n\r\nbody')])
  const add = async (key: string, purged: boolean): Promise<number> => (await pool.query<{ id: number }>(
    `INSERT INTO inbound_emails (mailbox_name, provider_key, message_id, checksum, size, raw_purged_at)
     VALUES ('old', $1, $1, '\\x00', 1, CASE WHEN $2 THEN now() END) RETURNING id`, [key, purged])).rows[0].id
  const kept = await add('a', false)
  const purged = await add('b', true)
  await pool.query('INSERT INTO inbound_email_raw (email_id, raw) VALUES ($1, $2)', [kept, raw])

  t.equal((await migrate(pool))[0], 6, '0006 and what follows it are applied')
  const { rows } = await pool.query<{ id: number, raw: Buffer | null }>('SELECT id, raw FROM inbound_emails ORDER BY id')
  t.ok(rows[0].raw?.equals(raw), 'the raw moved as it was')
  t.same([rows[1].id, rows[1].raw], [purged, null], 'a purged email stays without one')
  t.equal((await pool.query(`SELECT to_regclass('inbound_email_raw') AS r`)).rows[0].r, null, 'the old table is gone')
  await t.rejects(add('c', false), /inbound_emails_raw_kept/, 'a row without its raw is refused unless purged')
})
