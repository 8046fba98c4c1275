/**
 * mailbox-fetch: the batches a sync listed (up to 25 refs each, one job
 * each), worked several jobs at a time. The jobs of one mailbox share one
 * provider session (one login for up to BATCHES_PER_SESSION batches
 * instead of one each), and are fetched, stored, marked and advanced
 * BATCHES_PER_COMMIT at a time, up to BATCH_BYTES (batch.ts): one FETCH, one
 * transaction, one STORE and one cursor update for them all rather than one
 * of each per job, the next FETCH sent while one is stored. A
 * failure fails the jobs of that combined batch and of those after it
 * (retried by pg-boss in a new session; what was stored is not stored
 * again); the jobs before it complete.
 */
import type { AppContext } from '../context.ts'
import { recordFailure } from '../mailboxes/health.ts'
import { createProvider } from '../providers/index.ts'
import { ProviderAuthError, ReauthRequiredError, type MessageRef } from '../providers/types.ts'
import { connectionTokens } from '../oauth/connections/access-tokens.ts'
import type { QueuePayloads } from '../queue/queues.ts'
import { BATCHES_PER_COMMIT, groupWithin, processBatches, refBytes } from './batch.ts'
import { intervalOf, loadForSync, maxBytesOf } from './sync.ts'
import { bareError, errorMessage } from '../shared/errors.ts'

export interface FetchJob { id: string, data: QueuePayloads['mailbox-fetch'] }
/** A pg-boss per-job result (perJobResults). */
export interface FetchJobResult { id: string, status: 'completed' | 'failed', output?: { error: string } }

const failed = (job: FetchJob, err: unknown): FetchJobResult => ({ id: job.id, status: 'failed', output: { error: errorMessage(err) } })

export async function fetchBatches (ctx: AppContext, jobs: FetchJob[]): Promise<FetchJobResult[]> {
  const byMailbox = new Map<number, FetchJob[]>()
  for (const job of jobs) byMailbox.set(job.data.mailboxId, [...(byMailbox.get(job.data.mailboxId) ?? []), job])
  // one mailbox after another: a worker holds one IMAP session at a time
  const results: FetchJobResult[] = []
  for (const group of byMailbox.values()) results.push(...await fetchInOneSession(ctx, group))
  return results
}

/** Consecutive jobs, at most BATCHES_PER_COMMIT, whose refs together stay within BATCH_BYTES (a job over it travels alone). */
export function combineJobs (jobs: FetchJob[]): FetchJob[][] {
  return groupWithin(jobs, job => refBytes(job.data.refs as MessageRef[]), BATCHES_PER_COMMIT)
}

/** The batches of one mailbox, in order, in one session; the first failure fails the rest (retried in a new session). */
async function fetchInOneSession (ctx: AppContext, jobs: FetchJob[]): Promise<FetchJobResult[]> {
  let mailbox
  try {
    mailbox = await loadForSync(ctx, jobs[0].data.mailboxId)
  } catch (err) {
    return jobs.map(job => failed(job, err))
  }
  if (mailbox === null) return jobs.map(job => ({ id: job.id, status: 'completed' })) // deleted meanwhile
  const target = { id: mailbox.id, name: mailbox.spec.name }
  const provider = createProvider(mailbox, connectionTokens(ctx, mailbox.id))
  try {
    const groups = combineJobs(jobs)
    const batches = groups.map(group => group.flatMap(job => job.data.refs) as MessageRef[])
    const { results, error } = await processBatches(ctx, target, provider, batches, maxBytesOf(ctx, mailbox))
    const completed: FetchJobResult[] = groups.slice(0, results.length).flat().map(job => ({ id: job.id, status: 'completed' }))
    if (error === undefined) return completed
    const auth = error instanceof ProviderAuthError
    ctx.log.warn({ mailbox: mailbox.spec.name, err: bareError(error) }, 'mailbox fetch failed')
    // the jobs that completed stay completed even when the database cannot take the health row;
    // a grant found gone has its health recorded already
    if (!(error instanceof ReauthRequiredError)) {
      await recordFailure(ctx, ctx.pool, mailbox.id, auth ? 'auth' : 'network', errorMessage(error), intervalOf(ctx, mailbox)).catch(() => {})
    }
    return [...completed, ...jobs.slice(completed.length).map(j => failed(j, error))]
  } finally {
    await provider.close().catch(() => {})
  }
}
