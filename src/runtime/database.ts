/** The database to use: DATABASE_URL, or the embedded PostgreSQL in the data dir; waited for at start-up. */
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError, type Settings } from '../config/settings.ts'
import { startEmbeddedDatabase } from '../db/embedded.ts'
import { isPermanentConnectError, isTransientDbError } from '../db/transient.ts'
import type { Logger } from '../shared/logger.ts'
import { errorCode, errorMessage } from '../shared/errors.ts'

export interface DatabaseHandle {
  url: string
  embedded: boolean
  stop: () => Promise<void>
}

/** Seconds between start-up attempts while the database is unreachable: doubling from the first, capped. */
export const START_RETRY_SECONDS = { first: 1, max: 10 }

export async function openDatabase (settings: Settings, log: Logger): Promise<DatabaseHandle> {
  if (settings.databaseUrl !== undefined) return { url: settings.databaseUrl, embedded: false, stop: async () => {} }
  log.info({ dir: settings.dataDir }, 'no DATABASE_URL: using the embedded PostgreSQL')
  const db = await startEmbeddedDatabase(settings.dataDir, line => log.debug({ component: 'postgres' }, line), process.pid, settings.pgHome)
  if (db.pgDir !== path.join(settings.dataDir, 'pg')) {
    log.info({ dir: db.pgDir }, `the postgres user cannot reach the data dir: the embedded PostgreSQL's data is in ${db.pgDir} (MAILSLOT_PG_HOME)`)
  }
  if (db.binDir.startsWith(path.join(settings.pgHome, path.sep))) {
    log.info({ dir: db.binDir }, `the postgres user cannot reach node_modules: the embedded PostgreSQL runs from ${db.binDir} (MAILSLOT_PG_HOME)`)
  }
  return { url: db.url, embedded: true, stop: db.stop }
}

/**
 * Runs the first database step of start-up, waiting while the database is
 * unreachable (it may start after us, as behind a load balancer); credentials
 * or a database name it refuses, or a host name that does not exist, are a
 * configuration error at once.
 */
export async function whenDatabaseAnswers<T> (log: Logger, step: () => Promise<T>): Promise<T> {
  for (let wait = START_RETRY_SECONDS.first; ; wait = Math.min(2 * wait, START_RETRY_SECONDS.max)) {
    try {
      return await step()
    } catch (err) {
      if (isPermanentConnectError(err)) throw new ConfigError('DATABASE_URL', `the database refused the connection: ${errorMessage(err)}`)
      // a name that does not exist will not start to (a DNS server that does not answer is EAI_AGAIN: waited for)
      if (errorCode(err) === 'ENOTFOUND') throw new ConfigError('DATABASE_URL', `the host ${String((err as { hostname?: string }).hostname)} does not resolve`)
      if (!isTransientDbError(err)) throw err
      log.warn({ error: errorMessage(err) }, `database unavailable, retrying in ${wait} s`)
      await sleep(wait * 1000)
    }
  }
}
