/** Runs once after the test files (tap `after`): stops the embedded test PostgreSQL. */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { TEST_DATA_DIR } from './shared-db.ts'

if ((process.env.DATABASE_URL === undefined || process.env.DATABASE_URL === '') && existsSync(path.join(TEST_DATA_DIR, 'pg'))) {
  const { startEmbeddedDatabase } = await import('../../src/db/embedded.ts')
  // registers as a user and, being the last one out, stops the server
  const db = await startEmbeddedDatabase(TEST_DATA_DIR, () => {}, process.ppid)
  await db.stop()
}
