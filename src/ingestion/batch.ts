/**
 * One batch of messages from provider to Postgres: fetch, store (rows + raw +
 * handle jobs in one transaction), only then mark them processed on the
 * provider, then advance the cursor. A crash at any point loses nothing (not
 * marked before committed) and doubles nothing (unique keys).
 */
import type { Pool } from '../db/pool.ts'
import type { Boss } from '../queue/boss.ts'
import type { FetchedMessage, MessageRef, Provider } from '../providers/types.ts'
import { storeFetched } from '../inbound/store.ts'
import type { RecentRaws } from '../inbound/recent-raws.ts'
import { faultPoint } from '../shared/faults.ts'
import { updateCursor } from '../mailboxes/sync-state.ts'

/** Messages per batch (one mailbox-fetch job). */
export const BATCH_COUNT = 25
/** Bytes per batch, so that big messages do not share one; also the most fetched at once. */
export const BATCH_BYTES = 64 * 1024 * 1024
/**
 * Batches fetched, stored and marked together: one FETCH, one transaction,
 * one STORE (a sync's first ones, or a run of a fetch worker's).
 */
export const BATCHES_PER_COMMIT = 8
/**
 * mailbox-fetch jobs a fetch worker takes at once; those of one mailbox share
 * one session, committed BATCHES_PER_COMMIT at a time, the next download sent
 * while the last is stored (processBatches). Many, so that a backlog is
 * fetched in as few sessions as possible: fewer logins, fewer sessions at
 * once for an account with a connection limit (Gmail: 15, Dovecot's default:
 * 10 per user and address), and fewer FETCH answers that one session's marks
 * cause in every other session of the folder.
 */
export const BATCHES_PER_SESSION = 10 * BATCHES_PER_COMMIT

export interface BatchResult { fetched: number, stored: number, duplicates: number }

/**
 * Batches in order on one session, each fetched, stored, marked and its
 * cursor advanced. Three steps overlap: the next batch's download is sent
 * before this one is stored, and the next batch is stored while this one is
 * marked and its cursor advanced, so that a session's commits do not wait for
 * its STOREs. Marking a batch still follows its own commit, and marks
 * and cursor updates keep the batches' order (on IMAP one command at a time
 * per session). Stops at the first failure: the results of the batches done
 * before it, and the error; a batch committed but not marked when another
 * failed is marked by the next sync (it finds it stored).
 */
export async function processBatches (
  deps: { pool: Pool, boss: Boss, recentRaws?: RecentRaws },
  mailbox: { id: number, name: string },
  provider: Provider,
  batches: MessageRef[][],
  maxBytes: number
): Promise<{ results: BatchResult[], error?: unknown }> {
  const download = (i: number): Promise<FetchedMessage[]> | undefined => {
    if (i >= batches.length) return undefined
    const fetching = provider.fetchRaw(batches[i], maxBytes)
    fetching.catch(() => {}) // awaited in its turn; a failure before then is not unhandled
    return fetching
  }
  const results: BatchResult[] = []
  // the first failure, of a store or a mark; either stops the loop
  let failure: { error: unknown } | undefined
  const fail = (error: unknown): void => { failure ??= { error } }
  /**
   * The marks and cursor updates of the batches stored so far, one after
   * another: a failed one rejects the chain, so none after it runs, while a
   * failed store leaves the marks queued before it to run.
   */
  let marking: Promise<void> = Promise.resolve()
  let next = download(0)
  try {
    for (let i = 0; i < batches.length; i++) {
      if (failure !== undefined) break // a mark that failed while this loop awaited
      const fetched = await (next as Promise<FetchedMessage[]>)
      next = download(i + 1)
      faultPoint('fetch.before-commit')
      const { stored, duplicates } = await storeFetched(deps, mailbox, fetched)
      faultPoint('fetch.after-commit')
      marking = marking.then(async () => {
        await markAndAdvance(deps.pool, mailbox.id, provider, fetched.map(f => f.ref))
        results.push({ fetched: fetched.length, stored: stored.length, duplicates })
      })
      marking.catch(fail) // the loop stops at a failed mark without waiting for the chain
    }
  } catch (error) {
    fail(error)
  }
  await marking.catch(fail)
  return failure === undefined ? { results } : { results, error: failure.error }
}

async function markAndAdvance (pool: Pool, mailboxId: number, provider: Provider, refs: MessageRef[]): Promise<void> {
  await provider.markProcessed(refs)
  await advanceCursor(pool, mailboxId, provider, refs)
}

export async function advanceCursor (pool: Pool, mailboxId: number, provider: Provider, refs: MessageRef[]): Promise<void> {
  if (refs.length === 0) return
  await updateCursor(pool, mailboxId, cursor => provider.advanceCursor(cursor, refs))
}

/** A ref's size as listed (an upper bound for small IMAP messages; 0 when unknown). */
export function refSize (ref: MessageRef): number {
  return Number(ref.size ?? 0)
}

/** The bytes of these refs, as listed. */
export function refBytes (refs: MessageRef[]): number {
  return refs.reduce((n, r) => n + refSize(r), 0)
}

/**
 * Consecutive items grouped: at most maxCount per group and at most maxBytes
 * together (an item over it is a group of its own). Cuts refs into batches
 * (BATCH_COUNT) and batches into what one session fetches together.
 */
export function groupWithin<T> (items: T[], bytesOf: (item: T) => number, maxCount = Infinity, maxBytes = BATCH_BYTES): T[][] {
  const groups: T[][] = []
  let bytes = 0
  for (const item of items) {
    const size = bytesOf(item)
    const last = groups.at(-1)
    if (last !== undefined && last.length < maxCount && bytes + size <= maxBytes) {
      last.push(item)
      bytes += size
    } else {
      groups.push([item])
      bytes = size
    }
  }
  return groups
}
