/**
 * Replay: handle stored emails again, one by id or in bulk by status.
 * Handlers are idempotent by email id, so a replay never doubles an effect of
 * the built-in handler; outside deliveries (gitlab, webhook) send again,
 * which is why a bulk replay takes only `failed` or `rejected` emails.
 * What can be replayed at all is one rule (repository.ts, REPLAYABLE); each
 * email is put back to `received` and queued in one transaction.
 */
import type { AppContext } from '../context.ts'
import { transaction } from '../db/pool.ts'
import { AppError } from '../shared/errors.ts'
import { resetForReplay, resetNextForReplay, type ReplayFilter } from './repository.ts'
import { queueHandling } from './store.ts'
import { parseSince } from '../shared/since.ts'

type Ctx = Pick<AppContext, 'pool' | 'boss'>

/** Statuses a bulk replay takes. */
export const BULK_REPLAY_STATUSES = ['failed', 'rejected'] as const

/** Emails put back and queued per transaction: memory and lock time stay bounded whatever the backlog. */
export const REPLAY_BATCH = 1000

export async function replayEmail (ctx: Ctx, id: number): Promise<void> {
  await transaction(ctx.pool, async (client) => {
    await resetForReplay(client, id)
    await queueHandling(ctx.boss, client, [id])
  })
}

/** Replays every replayable email the filter matches, a batch at a time; resolves to how many were queued. */
export async function replayMatching (ctx: Ctx, filter: ReplayFilter, batch = REPLAY_BATCH): Promise<number> {
  let afterId = 0
  let queued = 0
  for (;;) {
    const ids = await transaction(ctx.pool, async (client) => {
      const ids = await resetNextForReplay(client, filter, afterId, batch)
      await queueHandling(ctx.boss, client, ids)
      return ids
    })
    queued += ids.length
    // replayed emails that fail again are above afterId no more: each is queued once
    if (ids.length < batch) return queued
    afterId = ids[ids.length - 1]
  }
}

export interface BulkReplayInput { status?: string, mailbox?: string, since?: string }

/**
 * The filter of a bulk replay, checked; a bad value is a 400 naming the field
 * as `label` calls it (`--status` on the command line, `status` in the API).
 */
export function bulkReplayFilter (input: BulkReplayInput, label = (field: string) => field, now = new Date()): ReplayFilter {
  const bad = (field: string, message: string): AppError => new AppError(`invalid_${field}`, `${label(field)} ${message}`, field)
  if (input.status === undefined) throw bad('status', `is required: ${BULK_REPLAY_STATUSES.join(' or ')}`)
  if (!(BULK_REPLAY_STATUSES as readonly string[]).includes(input.status)) {
    throw bad('status', `must be ${BULK_REPLAY_STATUSES.join(' or ')}` + (input.status === 'delivered'
      ? ': delivered emails are not replayed in bulk, a gitlab or webhook delivery would send them again (replay one by ID if you mean it)'
      : ''))
  }
  const since = input.since === undefined ? undefined : parseSince(input.since, now)
  if (since === null) throw bad('since', 'must be an ISO 8601 time (2026-05-01T08:00:00Z) or a duration back from now (30m, 24h, 7d, 2w)')
  return { status: input.status as ReplayFilter['status'], mailbox: input.mailbox, since }
}
