/**
 * Process lifecycle. Start: secrets and config file → database → migrations → pg-boss →
 * workers and scheduler (worker role) → HTTP (web role). Stop, in reverse:
 * stop accepting requests, let running jobs finish (or return to the queue),
 * stop pg-boss, close the pool, stop the embedded PostgreSQL.
 */
import type { FastifyInstance } from 'fastify'
import type { Settings } from '../config/settings.ts'
import { resolveSecrets } from '../config/secrets.ts'
import { createPool } from '../db/pool.ts'
import { migrate } from '../db/migrate.ts'
import { buildApp, type AppOptions } from '../http/app.ts'
import { createBoss, createQueues, type Boss } from '../queue/boss.ts'
import { createLogger, type Logger } from '../shared/logger.ts'
import { bareError } from '../shared/errors.ts'
import { faultPoint } from '../shared/faults.ts'
import { createMetrics } from '../shared/metrics.ts'
import { countByHealth } from '../mailboxes/health.ts'
import { recentRaws } from '../inbound/recent-raws.ts'
import { createParseLane } from '../parsing/parse-lane.ts'
import type { AppContext } from '../context.ts'
import { openDatabase, whenDatabaseAnswers } from './database.ts'
import { loadConfigFile } from './config-file.ts'
import { applyConfigFile } from './config-apply.ts'
import { dataDirError, listenError } from './startup-errors.ts'
import { startWorkers, WORKER_CONNECTIONS, type WorkerOptions } from './workers.ts'

export type Role = 'all' | 'web' | 'worker'

export interface StartOptions {
  role?: Role
  log?: Logger
  app?: AppOptions
  workers?: WorkerOptions
  /** Set false for CLI commands: no maintenance, no cron. Default true. */
  background?: boolean
}

export interface Runtime {
  ctx: AppContext
  app?: FastifyInstance
  /** `http://host:port` when the web role listens. */
  address?: string
  adminTokenCreated: boolean
  stop: () => Promise<void>
}

export async function startRuntime (settings: Settings, opts: StartOptions = {}): Promise<Runtime> {
  const role = opts.role ?? 'all'
  const log = opts.log ?? createLogger(settings.logLevel)
  const secrets = await resolveSecrets(settings).catch(err => { throw dataDirError(err, settings) })
  // checked before the database starts: a bad file stops start-up at once
  const declared = settings.configFile === undefined ? undefined : await loadConfigFile(settings.configFile, settings.webhookAllowPrivate)
  const database = await openDatabase(settings, log).catch(err => { throw dataDirError(err, settings) })
  const cleanups: Array<() => Promise<void>> = [database.stop]
  const stop = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(err => log.error({ err }, 'shutdown step failed'))
  }
  try {
    const pool = createPool(database.url, 10 + (role !== 'web' && opts.background !== false ? WORKER_CONNECTIONS : 0))
    cleanups.push(async () => { await pool.end() })
    const applied = await whenDatabaseAnswers(log, async () => await migrate(pool))
    if (applied.length > 0) log.info({ applied }, 'migrations applied')

    // the database may go away again between the migrations and pg-boss: waited for the same way
    const boss = await whenDatabaseAnswers(log, async () => await startBoss(database.url, opts.background, log))
    cleanups.push(async () => { await boss.stop({ graceful: true, timeout: 30_000 }) })

    const ctx: AppContext = {
      settings,
      adminToken: secrets.adminToken,
      keyring: secrets.keyring,
      pool,
      boss,
      log,
      metrics: createMetrics(async () => await countByHealth(pool)),
      recentRaws: recentRaws(),
      parseLane: createParseLane()
    }
    cleanups.push(async () => { await ctx.parseLane.close() })
    if (declared !== undefined) await whenDatabaseAnswers(log, async () => { await applyConfigFile(ctx, declared) })
    if (role !== 'web' && opts.background !== false) cleanups.push(await startWorkers(ctx, opts.workers))

    const runtime: Runtime = { ctx, adminTokenCreated: secrets.adminTokenCreated, stop }
    if (role !== 'worker' && opts.background !== false) {
      const app = await buildApp(ctx, opts.app)
      runtime.address = await app.listen({ host: settings.host, port: settings.port }).catch(err => { throw listenError(err, settings) })
      runtime.app = app
      // first to close: no new requests while the rest shuts down
      cleanups.push(async () => { await app.close() })
    }
    return runtime
  } catch (err) {
    await stop()
    throw err
  }
}

/** pg-boss started and its queues up to date; a failed attempt is stopped, so that a retry starts clean. */
async function startBoss (url: string, background: boolean | undefined, log: Logger): Promise<Boss> {
  const boss = createBoss(url, { background })
  boss.on('error', (err: Error) => log.error({ err: bareError(err) }, 'pg-boss error'))
  try {
    await boss.start()
    faultPoint('start.after-boss-start')
    await createQueues(boss)
    return boss
  } catch (err) {
    await boss.stop({ graceful: false, timeout: 1_000 }).catch(() => {})
    throw err
  }
}
