/**
 * Runs once before the test files (tap `before`): starts the shared test
 * PostgreSQL (unless DATABASE_URL is set) and builds the template database
 * with mailslot's migrations and pg-boss's schema.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import pg from 'pg'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { createPool } from '../../src/db/pool.ts'
import { migrate } from '../../src/db/migrate.ts'
import { createBoss, createQueues } from '../../src/queue/boss.ts'
import { TEMPLATE_DB, TEST_DATA_DIR, URL_FILE, serverUrl, withDatabase } from './shared-db.ts'

if (process.env.DATABASE_URL === undefined || process.env.DATABASE_URL === '') {
  await mkdir(TEST_DATA_DIR, { recursive: true })
  // registered for tap's own process (our parent), so that parallel tap runs
  // sharing this server do not stop it under each other
  const db = await startEmbeddedDatabase(TEST_DATA_DIR, () => {}, process.ppid)
  await writeFile(URL_FILE, db.url)
  // left running for the test files; test/setup/after.ts stops it
}
const url = await serverUrl()
const admin = new pg.Client({ connectionString: url })
await admin.connect()
await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`)
await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`)
const templateUrl = withDatabase(url, TEMPLATE_DB)
const pool = createPool(templateUrl, 2)
await migrate(pool)
await pool.end()
const boss = createBoss(templateUrl, { background: false, max: 2 })
await boss.start()
await createQueues(boss)
await boss.stop({ graceful: false, close: true })
// no one may stay connected to a template while it is cloned
await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [TEMPLATE_DB])
await admin.end()
