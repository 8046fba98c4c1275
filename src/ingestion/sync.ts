/**
 * mailbox-sync: list what is new, mark processed what is already stored, cut
 * the rest into batches of 25, fetch the first BATCHES_PER_COMMIT of them
 * on the session already open (the first batch committed alone),
 * and queue the others as mailbox-fetch jobs (worked in fetch.ts) meanwhile,
 * so that the fetch workers start at once. The first ones are fetched here
 * rather than queued too: one job hop and one login less before the first
 * commit.
 * One sync per mailbox runs at a time (advisory lock); a sync asked for while
 * another runs is re-queued shortly, so a notification is never dropped.
 */
import type { AppContext } from '../context.ts'
import { lockKey, unlock } from '../db/locks.ts'
import { releaseClient } from '../db/pool.ts'
import { loadMailbox, mailboxFromRow, type MailboxRow } from '../mailboxes/repository.ts'
import { recordFailure, recordReauthRequired, recordSuccessAndUnlock } from '../mailboxes/health.ts'
import { lockAndStartPoll, saveCursor } from '../mailboxes/sync-state.ts'
import type { Mailbox } from '../mailboxes/types.ts'
import type { Logger } from '../shared/logger.ts'
import { createProvider } from '../providers/index.ts'
import { ProviderAuthError, ReauthRequiredError, type Provider } from '../providers/types.ts'
import { connectionTokens } from '../oauth/connections/access-tokens.ts'
import { storedKeys } from '../inbound/store.ts'
import { insert, send } from '../queue/boss.ts'
import { syncKeys, type QueuePayloads } from '../queue/queues.ts'
import { BATCHES_PER_COMMIT, BATCH_COUNT, advanceCursor, groupWithin, processBatches, refBytes, refSize } from './batch.ts'
import { nextSyncSeconds } from './next-sync.ts'
import { bareError, errorMessage } from '../shared/errors.ts'
import { UndecryptableError } from '../shared/crypto.ts'

export interface SyncOutcome { listed: number, stored: number, queuedBatches: number, skipped?: 'locked' | 'deleted' }

export function intervalOf (ctx: AppContext, mailbox: Mailbox): number {
  return mailbox.spec.pollIntervalSeconds ?? ctx.settings.pollIntervalSeconds
}

export function maxBytesOf (ctx: Pick<AppContext, 'settings'>, mailbox: Mailbox): number {
  return mailbox.spec.maxEmailBytes ?? ctx.settings.maxEmailBytes
}

export async function syncMailbox (ctx: AppContext, job: QueuePayloads['mailbox-sync']): Promise<SyncOutcome> {
  // the session lock lives on a connection of its own, held for the whole sync;
  // taking it, recording the poll start and reading the mailbox are one
  // statement, as are recording success and letting go: a sync of an idle
  // mailbox is mostly these round trips
  const lockClient = await ctx.pool.connect()
  const key = lockKey('sync', job.mailboxId)
  let locked = false
  try {
    const start = await lockAndStartPoll(lockClient, job.mailboxId, key)
    if (!start.locked) {
      // another process is syncing this mailbox: ask again shortly rather than drop the request
      await send(ctx.boss, 'mailbox-sync', job, { singletonKey: syncKeys.again(job.mailboxId), startAfter: 2 })
      return { listed: 0, stored: 0, queuedBatches: 0, skipped: 'locked' }
    }
    locked = true
    if (start.row === null) return { listed: 0, stored: 0, queuedBatches: 0, skipped: 'deleted' }
    const mailbox = await decodeForSync(ctx, start.row)
    const { outcome, nextPollSeconds } = await syncLocked(ctx, job, mailbox)
    if (nextPollSeconds !== undefined) {
      await recordSuccessAndUnlock(ctx, lockClient, mailbox.id, nextPollSeconds, key)
      locked = false
    }
    return outcome
  } finally {
    // an unlock that fails means a dead connection: discarded, the lock dies with its session
    let broken: unknown
    if (locked) await unlock(lockClient, key).catch((err: unknown) => { broken = err })
    releaseClient(lockClient, broken)
  }
}

/**
 * A mailbox the poller claimed (src/ingestion/poller.ts: its sync lock taken,
 * its poll start recorded), synced; the seconds to its next poll when it
 * succeeded, for the poller to record with the unlock.
 */
export async function pollClaimed (ctx: AppContext, row: MailboxRow): Promise<number | undefined> {
  const mailbox = await decodeForSync(ctx, row)
  return (await syncLocked(ctx, { mailboxId: row.id, reason: 'schedule' }, mailbox)).nextPollSeconds
}

/** A row's secrets decrypted; a key mismatch is recorded in the mailbox health, not thrown away in a job. */
async function decodeForSync (ctx: AppContext, row: MailboxRow): Promise<Mailbox> {
  try {
    return mailboxFromRow(ctx.keyring, row)
  } catch (err) {
    throw await undecryptable(ctx, row.id, err)
  }
}

async function undecryptable (ctx: AppContext, mailboxId: number, err: unknown): Promise<unknown> {
  if (!(err instanceof UndecryptableError)) return err
  const message = `cannot decrypt the mailbox secrets: ${err.message}`
  await recordFailure(ctx, ctx.pool, mailboxId, 'auth', message, ctx.settings.pollIntervalSeconds)
  return new Error(message)
}

/** The mailbox with its secrets (a key mismatch is recorded in its health); null when deleted. */
export async function loadForSync (ctx: AppContext, mailboxId: number): Promise<Mailbox | null> {
  try {
    return await loadMailbox(ctx.pool, ctx.keyring, mailboxId)
  } catch (err) {
    throw await undecryptable(ctx, mailboxId, err)
  }
}

/** The sync itself; nextPollSeconds is set when it succeeded (recorded with the unlock). */
async function syncLocked (ctx: AppContext, job: QueuePayloads['mailbox-sync'], mailbox: Mailbox): Promise<{ outcome: SyncOutcome, nextPollSeconds?: number }> {
  // a child logger costs more than a sync of an idle mailbox: made when something is said
  const log = (): Logger => ctx.log.child({ mailbox: mailbox.spec.name, reason: job.reason })
  let provider: Provider | undefined
  try {
    provider = createProvider(mailbox, connectionTokens(ctx, mailbox.id))
    const { refs, cursor } = await provider.listNew(mailbox.cursor)
    if (cursor !== undefined) await saveCursor(ctx.pool, mailbox.id, cursor)
    // stored before (e.g. a crash between commit and mark): only mark them
    const known = await storedKeys(ctx.pool, mailbox.id, refs.map(r => r.key))
    const already = refs.filter(r => known.has(r.key))
    if (already.length > 0) {
      await provider.markProcessed(already)
      await advanceCursor(ctx.pool, mailbox.id, provider, already)
    }
    const todo = refs.filter(r => !known.has(r.key))
    const batches = groupWithin(todo, refSize, BATCH_COUNT)
    let stored = 0
    const target = { id: mailbox.id, name: mailbox.spec.name }
    // a session's worth is fetched here, on the session already open; the
    // rest goes to the fetch workers, queued while this session's first
    // download is on its way, so that the insert does not delay it
    const [here, ...later] = groupWithin(batches, refBytes, BATCHES_PER_COMMIT)
    const queued = later.length > 0 ? insert(ctx.boss, 'mailbox-fetch', later.flat().map(b => ({ data: { mailboxId: mailbox.id, refs: b } }))) : Promise.resolve()
    queued.catch(() => {}) // awaited below; a failure before then is not unhandled
    // its first batch is committed alone, so that handling starts once one
    // batch is stored rather than BATCHES_PER_COMMIT, then the rest of its
    // share together
    const commits = here === undefined ? [] : [here.slice(0, 1), here.slice(1)].filter(part => part.length > 0)
    const { results, error } = await processBatches(ctx, target, provider, commits.map(part => part.flat()), maxBytesOf(ctx, mailbox))
    // what was not queued is listed again by the next sync: nothing is lost
    await queued
    if (error !== undefined) throw error
    for (const r of results) stored += r.stored
    ctx.metrics.syncs.inc({ result: 'ok' })
    if (refs.length > 0) log().info({ listed: refs.length, stored, batches: batches.length }, 'mailbox synced')
    const outcome = { listed: refs.length, stored, queuedBatches: later.flat().length }
    return { outcome, nextPollSeconds: await nextSyncSeconds(ctx, mailbox, intervalOf(ctx, mailbox)) }
  } catch (err) {
    if (err instanceof ReauthRequiredError) {
      ctx.metrics.syncs.inc({ result: 'reauth_required' })
      log().info({ err: bareError(err) }, 'mailbox waits for its owner to reconnect it')
      // the health says so again, whatever a sync running meanwhile recorded
      await recordReauthRequired(ctx, ctx.pool, mailbox.id, err.message)
      return { outcome: { listed: 0, stored: 0, queuedBatches: 0 } }
    }
    const auth = err instanceof ProviderAuthError
    // counted and logged first: with the database down, the health row cannot say it
    ctx.metrics.syncs.inc({ result: auth ? 'auth_failed' : 'failed' })
    log().warn({ err: bareError(err) }, 'mailbox sync failed')
    await recordFailure(ctx, ctx.pool, mailbox.id, auth ? 'auth' : 'network', errorMessage(err), intervalOf(ctx, mailbox))
    return { outcome: { listed: 0, stored: 0, queuedBatches: 0 } }
  } finally {
    await provider?.close().catch(() => {})
  }
}
