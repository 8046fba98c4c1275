/**
 * What job handlers and routes receive instead of globals: settings, the
 * database, the queue and a logger (scoped further per job or request).
 * A type only, beside the folders rather than in runtime/, so no layer
 * imports the composition root to name it.
 */
import type { Settings } from './config/settings.ts'
import type { Keyring } from './shared/crypto.ts'
import type { Pool } from './db/pool.ts'
import type { Boss } from './queue/boss.ts'
import type { Logger } from './shared/logger.ts'
import type { Metrics } from './shared/metrics.ts'
import type { RecentRaws } from './inbound/recent-raws.ts'
import type { ParseLane } from './parsing/parse-lane.ts'

export interface AppContext {
  settings: Settings
  /** Resolved admin token (env or generated). */
  adminToken: string
  /** Resolved encryption keys (env or generated): the first encrypts, any decrypts. */
  keyring: Keyring
  pool: Pool
  boss: Boss
  log: Logger
  metrics: Metrics
  /** Raws this process stored a moment ago, for its own email-handle jobs. */
  recentRaws: RecentRaws
  /** The worker thread that parses small emails next to the event loop. */
  parseLane: ParseLane
}
