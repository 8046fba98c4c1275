/**
 * mailbox-sync: list what is new, mark processed what is already stored,
 * fetch up to one batch inline and queue the rest as mailbox-fetch jobs
 * (worked in fetch.ts).
 * One sync per mailbox runs at a time (advisory lock); a sync asked for while
 * another runs is re-queued shortly, so a notification is never dropped.
 */
import { createHash } from 'node:crypto'
import type { AppContext } from '../runtime/context.ts'
import { loadMailbox } from '../mailboxes/repository.ts'
import { recordFailure, recordPollStart, recordSuccess } from '../mailboxes/health.ts'
import type { Mailbox } from '../mailboxes/types.ts'
import { createProvider } from '../providers/index.ts'
import { ProviderAuthError, type Provider } from '../providers/types.ts'
import { storedKeys } from '../inbound/store.ts'
import { send } from '../queue/boss.ts'
import type { QueuePayloads } from '../queue/queues.ts'
import { advanceCursor, chunkRefs, processBatch } from './batch.ts'
import { webhookAwareInterval } from '../graph/subscriptions/schedule.ts'

/** Messages per batch (one mailbox-fetch job), as the blueprint proposes. */
export const BATCH_COUNT = 25
/** Bytes per batch, so that big messages do not share one. */
export const BATCH_BYTES = 64 * 1024 * 1024

export interface SyncOutcome { listed: number, stored: number, queuedBatches: number, skipped?: 'locked' | 'deleted' }

function lockKey (mailboxId: number): bigint {
  return createHash('sha256').update(`mailslot:sync:${mailboxId}`).digest().readBigInt64BE(0)
}

export function intervalOf (ctx: AppContext, mailbox: Mailbox): number {
  return mailbox.spec.pollIntervalSeconds ?? ctx.settings.pollIntervalSeconds
}

export function maxBytesOf (ctx: AppContext, mailbox: Mailbox): number {
  return mailbox.spec.maxEmailBytes ?? ctx.settings.maxEmailBytes
}

export async function syncMailbox (ctx: AppContext, job: QueuePayloads['mailbox-sync']): Promise<SyncOutcome> {
  const lockClient = await ctx.pool.connect()
  try {
    const key = lockKey(job.mailboxId)
    const { rows } = await lockClient.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key])
    if (!rows[0].ok) {
      // another process is syncing this mailbox: ask again shortly rather than drop the request
      await send(ctx.boss, 'mailbox-sync', job, { singletonKey: `${job.mailboxId}:again`, startAfter: 2 })
      return { listed: 0, stored: 0, queuedBatches: 0, skipped: 'locked' }
    }
    try {
      return await syncLocked(ctx, job)
    } finally {
      await lockClient.query('SELECT pg_advisory_unlock($1)', [key])
    }
  } finally {
    lockClient.release()
  }
}

/** The mailbox with its secrets; a key mismatch is recorded in its health, not thrown away in a job. */
export async function loadForSync (ctx: AppContext, mailboxId: number): Promise<Mailbox | null> {
  try {
    return await loadMailbox(ctx.pool, ctx.encryptionKey, mailboxId)
  } catch (err) {
    const message = `cannot decrypt the mailbox secrets (is MAILSLOT_ENCRYPTION_KEY the key they were stored with?): ${(err as Error).message}`
    await recordFailure(ctx.pool, mailboxId, 'auth', message, ctx.settings.pollIntervalSeconds)
    throw new Error(message)
  }
}

async function syncLocked (ctx: AppContext, job: QueuePayloads['mailbox-sync']): Promise<SyncOutcome> {
  const mailbox = await loadForSync(ctx, job.mailboxId)
  if (mailbox === null) return { listed: 0, stored: 0, queuedBatches: 0, skipped: 'deleted' }
  const log = ctx.log.child({ mailbox: mailbox.spec.name, reason: job.reason })
  await recordPollStart(ctx.pool, mailbox.id)
  let provider: Provider | undefined
  try {
    provider = createProvider(mailbox)
    const { refs, cursor } = await provider.listNew(mailbox.cursor)
    if (cursor !== undefined) await ctx.pool.query('UPDATE mailboxes SET cursor = $2 WHERE id = $1', [mailbox.id, JSON.stringify(cursor)])
    // stored before (e.g. a crash between commit and mark): only mark them
    const known = await storedKeys(ctx.pool, mailbox.id, refs.map(r => r.key))
    const already = refs.filter(r => known.has(r.key))
    if (already.length > 0) {
      await provider.markProcessed(already)
      await advanceCursor(ctx.pool, mailbox.id, provider, already)
    }
    const todo = refs.filter(r => !known.has(r.key))
    const batches = chunkRefs(todo, BATCH_COUNT, BATCH_BYTES)
    let stored = 0
    const target = { id: mailbox.id, name: mailbox.spec.name }
    if (batches.length === 1) {
      stored = (await processBatch(ctx, target, provider, batches[0], maxBytesOf(ctx, mailbox))).stored
    } else if (batches.length > 1) {
      await ctx.boss.insert('mailbox-fetch', batches.map(b => ({ data: { mailboxId: mailbox.id, refs: b } })))
    }
    await recordSuccess(ctx.pool, mailbox.id, await webhookAwareInterval(ctx, mailbox, intervalOf(ctx, mailbox)))
    ctx.metrics.syncs.inc({ result: 'ok' })
    if (refs.length > 0) log.info({ listed: refs.length, stored, batches: batches.length }, 'mailbox synced')
    return { listed: refs.length, stored, queuedBatches: batches.length > 1 ? batches.length : 0 }
  } catch (err) {
    const auth = err instanceof ProviderAuthError
    await recordFailure(ctx.pool, mailbox.id, auth ? 'auth' : 'network', (err as Error).message, intervalOf(ctx, mailbox))
    ctx.metrics.syncs.inc({ result: auth ? 'auth_failed' : 'failed' })
    log.warn({ err: { message: (err as Error).message } }, 'mailbox sync failed')
    return { listed: 0, stored: 0, queuedBatches: 0 }
  } finally {
    await provider?.close().catch(() => {})
  }
}
