/** Registers every job worker and schedule of the worker role; returns their stop function. */
import { CONTROLLER_CRON, queueDueSyncs } from '../ingestion/controller.ts'
import { fetchBatch, syncMailbox } from '../ingestion/sync.ts'
import { handleEmails } from '../inbound/handle.ts'
import { work } from '../queue/boss.ts'
import type { AppContext } from './context.ts'

export async function startWorkers (ctx: AppContext): Promise<() => Promise<void>> {
  const { boss } = ctx
  await work(boss, 'mailbox-controller', { pollingIntervalSeconds: 5 }, async () => { await queueDueSyncs(ctx) })
  // IMAP/Graph I/O bound: several mailboxes at once
  // with NOTIFY on, pg-boss would otherwise poll every 30 s after a fetch:
  // single-job workers that leave jobs behind must look again soon
  const soon = { pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 }
  await work(boss, 'mailbox-sync', { batchSize: 1, localConcurrency: 8, ...soon }, async ([job]) => {
    await syncMailbox(ctx, job.data)
  })
  await work(boss, 'mailbox-fetch', { batchSize: 1, localConcurrency: 4, ...soon }, async ([job]) => {
    await fetchBatch(ctx, job.data)
  })
  await work(boss, 'email-handle', { batchSize: 50, localConcurrency: 2, burstWhenBatchFull: true, ...soon }, async (jobs) => {
    await handleEmails(ctx, jobs.map(j => j.data.emailId))
  })
  await boss.schedule('mailbox-controller', CONTROLLER_CRON, {}, { singletonKey: 'controller' })
  return async () => {
    for (const q of ['mailbox-controller', 'mailbox-sync', 'mailbox-fetch', 'email-handle'] as const) await boss.offWork(q, { wait: true }).catch(() => {})
  }
}
