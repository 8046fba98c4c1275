/** The database to use: DATABASE_URL, or the embedded PostgreSQL in the data dir. */
import type { Settings } from '../config/settings.ts'
import { startEmbeddedDatabase } from '../db/embedded.ts'
import type { Logger } from '../shared/logger.ts'

export interface DatabaseHandle {
  url: string
  embedded: boolean
  stop: () => Promise<void>
}

export async function openDatabase (settings: Settings, log: Logger): Promise<DatabaseHandle> {
  if (settings.databaseUrl !== undefined) return { url: settings.databaseUrl, embedded: false, stop: async () => {} }
  log.info({ dir: settings.dataDir }, 'no DATABASE_URL: using the embedded PostgreSQL')
  const db = await startEmbeddedDatabase(settings.dataDir, line => log.debug({ component: 'postgres' }, line))
  return { url: db.url, embedded: true, stop: db.stop }
}
