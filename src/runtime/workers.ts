/** Registers every job worker and schedule of the worker role; returns their stop function. */
import { startPoller, type PollerOptions } from '../ingestion/poller.ts'
import { fetchBatches } from '../ingestion/fetch.ts'
import { BATCHES_PER_SESSION } from '../ingestion/batch.ts'
import { syncMailbox } from '../ingestion/sync.ts'
import { handleEmails } from '../inbound/handle.ts'
import { RETENTION_CRON, purgeExpiredRaw } from '../inbound/retention.ts'
import { purgeStaleStates } from '../oauth/connect/states.ts'
import { work } from '../queue/boss.ts'
import { registerGraphProvider } from '../providers/graph/index.ts'
import { runSubscriptionJob } from '../graph-webhooks/subscriptions/manager.ts'
import { SCAN_CRON, registerWebhookAwareInterval, scanSubscriptions } from '../graph-webhooks/subscriptions/schedule.ts'
import { deliverEvent } from '../events/deliver.ts'
import type { AppContext } from '../context.ts'
import { errorMessage } from '../shared/errors.ts'
import { startImapPush, type PushOptions } from '../ingestion/push/supervisor.ts'

/**
 * email-handle calls worked at once per process, each with up to
 * DELIVERIES_IN_FLIGHT outside deliveries in flight. 4 rather than 8: every
 * job queued wakes every idle worker of the queue (pg-boss NOTIFY), and all
 * but one of them query for nothing.
 */
export const HANDLE_CONCURRENCY = 4
/** Mailboxes synced on demand at once per process (IMAP logins are mostly waiting); the poller's are its own (poller.ts). */
const SYNC_CONCURRENCY = 16
/** Sync jobs fetched together (SYNC_CONCURRENCY / SYNC_BATCH workers). */
const SYNC_BATCH = 4
/** How often an idle queue worker looks for jobs queued for later (a job queued for now wakes it at once). */
const NOTIFY_BACKSTOP_SECONDS = 5
/** mailbox-fetch sessions at once per process. */
export const FETCH_CONCURRENCY = 4
/** Operator events POSTed at once per process: as many may hang on a slow endpoint, each until its timeout. */
const EVENT_CONCURRENCY = 4
/** Connections the poller's polls have for their statements, each brief (they hold none between them). */
const POLL_CONNECTIONS = 4
/**
 * Database connections the workers may hold at once: an on-demand sync holds
 * one for its mailbox lock and uses another for its queries; the pool must be
 * larger than that, or syncs would wait on each other for connections
 * forever. The poller holds one for the locks of all its polls.
 */
export const WORKER_CONNECTIONS = 2 * SYNC_CONCURRENCY + FETCH_CONCURRENCY + HANDLE_CONCURRENCY + 1 + POLL_CONNECTIONS

export interface WorkerOptions {
  /** Seconds an idle queue worker waits before looking for jobs again (tests lengthen it). Default 1. */
  pollSeconds?: number
  /** Longest a Graph request may take, retries included (tests shorten it). Default: src/providers/graph/connection.ts. */
  graphRequestTimeoutMs?: number
  /** IMAP push timings (tests shorten them). */
  push?: PushOptions
  /** The poller's timings (tests shorten them). */
  poller?: PollerOptions
}

/** Runs each job of a batch at once, each settled on its own: one failing fails (or retries) that job alone. */
async function settleEach<T, R> (jobs: Array<{ id: string, data: T }>, run: (data: T) => Promise<R>): Promise<Array<{ id: string, status: 'completed' | 'failed', output: unknown }>> {
  return await Promise.all(jobs.map(async job => {
    try {
      return { id: job.id, status: 'completed' as const, output: await run(job.data) }
    } catch (err) {
      return { id: job.id, status: 'failed' as const, output: { message: errorMessage(err) } }
    }
  }))
}

export async function startWorkers (ctx: AppContext, opts: WorkerOptions = {}): Promise<() => Promise<void>> {
  const { boss } = ctx
  registerGraphProvider(opts.graphRequestTimeoutMs)
  registerWebhookAwareInterval()
  // on-demand syncs (manual, notification, push): IMAP/Graph I/O bound, several mailboxes at once
  // jobs queued now wake the workers (NOTIFY); those this process queues for
  // later (an email's retry, a sync asked again) wake its worker when due
  // (src/queue/wake-when-due.ts); pg-boss's own retries, and jobs another
  // process queued for later, are found by an idle worker's look every
  // NOTIFY_BACKSTOP_SECONDS. Every worker looks on its own: at 1 s, the
  // looks of 16 idle workers cost about 3 % of a core, as much as 8 polls of
  // empty mailboxes a second (docs/performance.md, bench:idle). A worker
  // whose batch was full looks again at once (burstWhenBatchFull).
  const soon = { pollingIntervalSeconds: opts.pollSeconds ?? 1, notifyPollingIntervalSeconds: opts.pollSeconds ?? NOTIFY_BACKSTOP_SECONDS }
  // batches of syncs (different mailboxes), each settled on its own: a worker
  // taking one job at a time sleeps its polling interval between jobs
  await work(boss, 'mailbox-sync', { batchSize: SYNC_BATCH, localConcurrency: SYNC_CONCURRENCY / SYNC_BATCH, burstWhenBatchFull: true, perJobResults: true, ...soon },
    async (jobs) => await settleEach(jobs, async data => await syncMailbox(ctx, data)))
  // several batches per session, each job settled on its own; burst while there is a backlog
  await work(boss, 'mailbox-fetch', { batchSize: BATCHES_PER_SESSION, localConcurrency: FETCH_CONCURRENCY, burstWhenBatchFull: true, perJobResults: true, ...soon }, async (jobs) => {
    return await fetchBatches(ctx, jobs)
  })
  // a job holds up to HANDLE_JOB_EMAILS emails; up to four jobs per fetch, in
  // a burst, so that a backlog of small jobs (replays, retries) does not wait
  // for a poll after each job: pg-boss ignores burstWhenBatchFull at batchSize 1
  // (test/inbound/handle-backlog.test.ts)
  await work(boss, 'email-handle', { batchSize: 4, localConcurrency: HANDLE_CONCURRENCY, burstWhenBatchFull: true, ...soon }, async (jobs) => {
    await handleEmails(ctx, jobs.flatMap(j => j.data.emailIds))
  })
  await work(boss, 'retention', { pollingIntervalSeconds: 5 }, async () => {
    await purgeExpiredRaw(ctx)
    await purgeStaleStates(ctx.pool)
  })
  // in batches too, so that a worker whose batch was full looks again at once
  await work(boss, 'graph-subscription', { batchSize: 2, localConcurrency: 2, burstWhenBatchFull: true, perJobResults: true, ...soon },
    async (jobs) => await settleEach(jobs, async data => { await runSubscriptionJob(ctx, data) }))
  await work(boss, 'graph-subscription-scan', { pollingIntervalSeconds: 5 }, async () => { await scanSubscriptions(ctx) })
  // only when events are on: an idle worker still looks for jobs; woken by NOTIFY, retries found within 5 s
  const events = ctx.settings.events
  if (events !== undefined) {
    await work(boss, 'operator-event', { localConcurrency: EVENT_CONCURRENCY, pollingIntervalSeconds: 5, notifyPollingIntervalSeconds: 5 }, async ([job]) => {
      await deliverEvent(ctx, events, job)
    })
  }
  // scheduled polls were a cron's jobs before the poller: its schedule and queue go
  await boss.unschedule('mailbox-controller').catch(() => {})
  await boss.deleteQueue('mailbox-controller').catch(() => {})
  await boss.schedule('graph-subscription-scan', SCAN_CRON, {}, { singletonKey: 'graph-subscription-scan' })
  await boss.schedule('retention', RETENTION_CRON, {}, { singletonKey: 'retention' })
  const stopPush = startImapPush(ctx, opts.push)
  const stopPoller = startPoller(ctx, opts.poller)
  return async () => {
    await stopPush()
    await stopPoller()
    for (const q of ['mailbox-sync', 'mailbox-fetch', 'email-handle', 'retention', 'graph-subscription', 'graph-subscription-scan', 'operator-event'] as const) await boss.offWork(q, { wait: true }).catch(() => {})
  }
}
