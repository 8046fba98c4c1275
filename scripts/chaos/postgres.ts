/**
 * The run's own embedded PostgreSQL, which the run can crash (an immediate
 * stop, as a power cut would) and start again on the same port.
 */
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'

export interface ChaosPostgres {
  url: string
  crash: () => Promise<void>
  start: () => Promise<void>
  stop: () => Promise<void>
}

export async function startPostgres (dataDir: string, log: (line: string) => void): Promise<ChaosPostgres> {
  const db = await startEmbeddedDatabase(dataDir, log)
  return { url: db.url, crash: db.crash, start: db.restart, stop: db.stop }
}
