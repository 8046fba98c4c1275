/**
 * Mailbox health after each sync. Failures push next_poll_at back
 * exponentially; an authentication failure backs off harder (a wrong password
 * must not hammer the server or lock the account). Changing the mailbox
 * (upsertMailbox) or a manual poll tries again at once.
 *
 * Every write of health_state returns the state it replaced, read in the
 * same statement (healthUpdate), and hands it to noticeHealth: the one place
 * a change becomes a `mailbox.health_changed` operator event.
 */
import { lockKeySql } from '../db/locks.ts'
import type { Queryable } from '../db/pool.ts'
import { queueEvent, type EventsContext } from '../events/queue.ts'
import type { HealthState } from './types.ts'

export type FailureKind = 'auth' | 'network'

/** What a successful sync sets. */
const SUCCESS = "health_state = 'ok', last_success_at = now(), last_error = NULL, consecutive_failures = 0"

/**
 * The next poll after a successful sync of row `m`, `seconds` (SQL) on: an
 * interval after the sync started (last_poll_at, set when it took the lock),
 * not after its outcome was recorded, so that a mailbox is polled at its rate.
 */
const nextPollAfter = (seconds: string): string => `next_poll_at = greatest(m.last_poll_at + make_interval(secs => ${seconds}), now())`

const AUTH_BACKOFF_BASE = 300
const AUTH_BACKOFF_MAX = 6 * 3600
const NETWORK_BACKOFF_MAX = 1800

/** Seconds until the next try after `failures` consecutive failures. */
export function backoffSeconds (kind: FailureKind, failures: number, intervalSeconds: number): number {
  const exp = Math.min(failures - 1, 16)
  return kind === 'auth'
    ? Math.min(AUTH_BACKOFF_BASE * 2 ** exp, AUTH_BACKOFF_MAX)
    : Math.min(intervalSeconds * 2 ** exp, Math.max(NETWORK_BACKOFF_MAX, intervalSeconds))
}

/** What a write of health_state returns (healthUpdate), and what a new mailbox starts with (`previous` null). */
export interface HealthWrite {
  name: string
  /** The state it replaced; null for a new mailbox. */
  previous: HealthState | null
  state: HealthState
  error: string | null
  /** When it was written: the event's timestamp. */
  at: Date
}

/**
 * An UPDATE of mailbox $1's health setting `set`, returning a HealthWrite
 * and `consecutiveFailures`.
 * The state it replaces is read in the same statement under the row's lock,
 * so two writers racing each see the other's state; NO KEY UPDATE, the lock
 * an UPDATE takes: batches being stored (KEY SHARE) do not wait for it.
 */
export function healthUpdate (set: string): string {
  return `UPDATE mailboxes m SET ${set}
    FROM (SELECT id, health_state FROM mailboxes WHERE id = $1 FOR NO KEY UPDATE) old WHERE m.id = old.id
    RETURNING m.name, old.health_state AS previous, m.health_state AS state, m.last_error AS error,
      m.consecutive_failures AS "consecutiveFailures", now() AS at`
}

/**
 * The one place a change of health is noticed: a write whose state differs
 * from the one it replaced queues a `mailbox.health_changed` event through
 * `db` (in the caller's transaction when it has one). No change, or events
 * off: nothing, not one statement more.
 */
export async function noticeHealth (ctx: EventsContext, db: Queryable, w: HealthWrite): Promise<void> {
  if (w.previous === w.state) return
  await queueEvent(ctx, db, 'mailbox.health_changed', { mailbox: w.name, from: w.previous, to: w.state, error: w.error }, w.at)
}

/**
 * Marks a sync successful, the next poll `nextPollSeconds` after it started,
 * and lets go of the sync's lock on `lockClient` (the connection holding it)
 * in the same statement: a sync of an idle mailbox is mostly its round trips.
 */
export async function recordSuccessAndUnlock (
  ctx: EventsContext, lockClient: Queryable, mailboxId: number, nextPollSeconds: number, lockKey: bigint
): Promise<void> {
  const { rows: [written] } = await lockClient.query<HealthWrite | { name: null }>(
    `WITH ok AS (${healthUpdate(`${SUCCESS}, ${nextPollAfter('$2')}`)})
     SELECT ok.* FROM (SELECT pg_advisory_unlock($3)) unlocked LEFT JOIN ok ON true`, [mailboxId, nextPollSeconds, lockKey])
  // nulls: the mailbox was deleted meanwhile
  if (written.name !== null) await noticeHealth(ctx, lockClient, written)
}

/** A poll the poller ran: `nextPollSeconds` when it succeeded; a failed one has recorded its failure already. */
export interface PollOutcome { mailboxId: number, nextPollSeconds?: number }

/**
 * The poller's outcomes of many polls in one statement (src/ingestion/poller.ts),
 * on the connection that holds their sync locks: each success recorded as
 * recordSuccessAndUnlock does, and every lock let go.
 */
export async function recordPollsAndUnlock (ctx: EventsContext, lockClient: Queryable, outcomes: PollOutcome[]): Promise<void> {
  const { rows } = await lockClient.query<HealthWrite | { name: null }>(
    `WITH done AS (SELECT * FROM unnest($1::bigint[], $2::float8[]) AS d(id, next_poll_seconds)),
     old AS (SELECT m.id, m.health_state FROM mailboxes m JOIN done USING (id)
       WHERE done.next_poll_seconds IS NOT NULL ORDER BY m.id FOR NO KEY UPDATE OF m),
     ok AS (UPDATE mailboxes m SET ${SUCCESS}, ${nextPollAfter('done.next_poll_seconds')}
       FROM done JOIN old USING (id) WHERE m.id = done.id
       RETURNING m.name, old.health_state AS previous, m.health_state AS state, m.last_error AS error, now() AS at),
     unlocked AS (SELECT count(pg_advisory_unlock(${lockKeySql('sync', 'done.id')})) FROM done)
     SELECT ok.* FROM unlocked LEFT JOIN ok ON true`,
    [outcomes.map(o => o.mailboxId), outcomes.map(o => o.nextPollSeconds ?? null)])
  for (const written of rows) if (written.name !== null) await noticeHealth(ctx, lockClient, written)
}

export async function recordFailure (
  ctx: EventsContext, db: Queryable, mailboxId: number, kind: FailureKind, message: string, intervalSeconds: number
): Promise<void> {
  const { rows } = await db.query<HealthWrite & { consecutiveFailures: number }>(
    healthUpdate('health_state = $2, last_error = $3, consecutive_failures = consecutive_failures + 1'),
    [mailboxId, kind === 'auth' ? 'auth_failed' : 'failing', message.slice(0, 2000)])
  if (rows.length === 0) return
  await db.query('UPDATE mailboxes SET next_poll_at = now() + make_interval(secs => $2) WHERE id = $1',
    [mailboxId, backoffSeconds(kind, rows[0].consecutiveFailures, intervalSeconds)])
  await noticeHealth(ctx, db, rows[0])
}

/** A mailbox its owner just reconnected (a new OAuth grant, src/oauth/connect): a fresh start, polled at once. */
export async function markReconnected (ctx: EventsContext, db: Queryable, mailboxId: number): Promise<void> {
  const { rows } = await db.query<HealthWrite>(
    healthUpdate(`health_state = 'pending', last_error = NULL, consecutive_failures = 0, next_poll_at = now()`), [mailboxId])
  if (rows.length > 0) await noticeHealth(ctx, db, rows[0])
}

/**
 * The mailbox's OAuth grant is gone (src/oauth/connections): `reauth_required`
 * and no scheduled poll until a reconnect (saveConnection) makes it due again.
 */
export async function recordReauthRequired (ctx: EventsContext, db: Queryable, mailboxId: number, message: string): Promise<void> {
  const { rows } = await db.query<HealthWrite>(
    healthUpdate(`health_state = 'reauth_required', last_error = $2, consecutive_failures = consecutive_failures + 1,
       next_poll_at = 'infinity'`),
    [mailboxId, message.slice(0, 2000)])
  if (rows.length > 0) await noticeHealth(ctx, db, rows[0])
}

/** How many mailboxes are in each health state (the metrics gauge). */
export async function countByHealth (db: Queryable): Promise<Array<{ state: string, n: number }>> {
  const { rows } = await db.query<{ state: string, n: number }>('SELECT health_state AS state, count(*)::int AS n FROM mailboxes GROUP BY 1')
  return rows
}
