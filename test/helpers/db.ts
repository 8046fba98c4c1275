/**
 * A database of this test file's own, cloned from the template (migrations and
 * pg-boss schema already in). Dropped at the end when the test passed; kept
 * for inspection when it failed.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Test } from 'tap'
import { serverUrl, templateDb, withDatabase } from '../setup/shared-db.ts'

export async function createTestDatabase (t: Test): Promise<string> {
  const server = await serverUrl()
  const name = `mailslot_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: server })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${await templateDb()}`)
  } finally {
    await admin.end()
  }
  t.teardown(async () => {
    if (!t.passing()) { t.comment(`kept database ${name} for inspection`); return }
    const c = new pg.Client({ connectionString: server })
    await c.connect()
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {})
    await c.end()
  })
  return withDatabase(server, name)
}
