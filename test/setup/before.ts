/**
 * Runs once before the test files (tap `before`): starts the shared test
 * PostgreSQL (unless DATABASE_URL is set) and makes sure the template database
 * with mailslot's migrations and pg-boss's schema exists. The template's name
 * carries a hash of what builds it, so a changed migration gets a new
 * template, and concurrent tap runs build it once (under an advisory lock).
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { createPool } from '../../src/db/pool.ts'
import { listMigrations, migrate } from '../../src/db/migrate.ts'
import { createBoss, createQueues } from '../../src/queue/boss.ts'
import { QUEUES } from '../../src/queue/queues.ts'
import { ROOT, TEMPLATE_FILE, TEST_DATA_DIR, URL_FILE, serverUrl, withDatabase } from './shared-db.ts'

if (process.env.DATABASE_URL === undefined || process.env.DATABASE_URL === '') {
  await mkdir(TEST_DATA_DIR, { recursive: true })
  // registered for tap's own process (our parent), so that parallel tap runs
  // sharing this server do not stop it under each other
  const db = await startEmbeddedDatabase(TEST_DATA_DIR, () => {}, process.ppid)
  await writeFile(URL_FILE, db.url)
}

const hash = createHash('sha256')
for (const m of await listMigrations()) hash.update(await readFile(m.file))
hash.update(JSON.stringify(QUEUES))
hash.update(JSON.parse(await readFile(path.join(ROOT, 'node_modules/pg-boss/package.json'), 'utf8')).version)
const template = `mailslot_tpl_${hash.digest('hex').slice(0, 16)}`

const url = await serverUrl()
const admin = new pg.Client({ connectionString: url })
await admin.connect()
await admin.query('SELECT pg_advisory_lock(727002)')
try {
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template])
  if (rowCount === 0) {
    const building = `${template}_build`
    await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`)
    await admin.query(`CREATE DATABASE ${building}`)
    const buildUrl = withDatabase(url, building)
    const pool = createPool(buildUrl, 2)
    await migrate(pool)
    await pool.end()
    const boss = createBoss(buildUrl, { background: false, max: 2 })
    await boss.start()
    await createQueues(boss)
    await boss.stop({ graceful: false, close: true })
    // no one may stay connected to a template while it is cloned
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [building])
    await admin.query(`ALTER DATABASE ${building} RENAME TO ${template}`)
  }
} finally {
  await admin.query('SELECT pg_advisory_unlock(727002)')
}
await admin.end()
await writeFile(TEMPLATE_FILE, template)
