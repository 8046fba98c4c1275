/**
 * A PostgreSQL server of one test file's own, in a temp dir, that the test can
 * stop (immediate: as a crash would) and start again on the same port, so that
 * a running mailslot's DATABASE_URL stays valid across the restart.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import type { Test } from 'tap'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { withDatabase } from '../setup/shared-db.ts'

export interface PrivatePostgres {
  /** URL of its `postgres` database. */
  url: string
  /** A new empty database on it; its URL. */
  createDatabase: (name: string) => Promise<string>
  /** `pg_ctl stop -m immediate`: every connection dies at once. */
  crash: () => Promise<void>
  /** Starts it again on the same port (nothing when it runs). */
  start: () => Promise<void>
}

export async function startPrivatePostgres (t: Test): Promise<PrivatePostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailslot-pg-'))
  const db = await startEmbeddedDatabase(dir)
  let up = true
  t.teardown(async () => {
    if (up) await db.stop()
    await rm(dir, { recursive: true, force: true })
  })
  return {
    url: db.url,
    createDatabase: async (name) => {
      const admin = new pg.Client({ connectionString: db.url })
      await admin.connect()
      try { await admin.query(`CREATE DATABASE ${name}`) } finally { await admin.end() }
      return withDatabase(db.url, name)
    },
    crash: async () => {
      await db.crash()
      up = false
    },
    start: async () => {
      if (up) return
      await db.restart()
      up = true
    }
  }
}
