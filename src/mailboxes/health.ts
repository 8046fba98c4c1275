/**
 * Mailbox health after each sync. Failures push next_poll_at back
 * exponentially; an authentication failure backs off harder (a wrong password
 * must not hammer the server or lock the account). Changing the mailbox
 * (upsertMailbox) or a manual poll tries again at once.
 */
import type { Queryable } from '../db/pool.ts'

export type FailureKind = 'auth' | 'network'

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

/**
 * Marks a sync successful, the next poll in `nextPollSeconds`, and lets go of
 * the sync's lock on `lockClient` (the connection holding it) in the same
 * statement: a sync of an idle mailbox is mostly its round trips.
 */
export async function recordSuccessAndUnlock (
  lockClient: Queryable, mailboxId: number, nextPollSeconds: number, lockKey: bigint
): Promise<void> {
  await lockClient.query(
    `WITH ok AS (UPDATE mailboxes SET health_state = 'ok', last_success_at = now(), last_error = NULL, consecutive_failures = 0,
       next_poll_at = now() + make_interval(secs => $2) WHERE id = $1)
     SELECT pg_advisory_unlock($3)`, [mailboxId, nextPollSeconds, lockKey])
}

export async function recordFailure (
  db: Queryable, mailboxId: number, kind: FailureKind, message: string, intervalSeconds: number
): Promise<void> {
  const { rows } = await db.query<{ n: number }>(
    `UPDATE mailboxes SET health_state = $2, last_error = $3, consecutive_failures = consecutive_failures + 1
     WHERE id = $1 RETURNING consecutive_failures AS n`,
    [mailboxId, kind === 'auth' ? 'auth_failed' : 'failing', message.slice(0, 2000)])
  if (rows.length === 0) return
  await db.query('UPDATE mailboxes SET next_poll_at = now() + make_interval(secs => $2) WHERE id = $1',
    [mailboxId, backoffSeconds(kind, rows[0].n, intervalSeconds)])
}

/** A mailbox its owner just reconnected (a new OAuth grant): a fresh start, polled at once. */
export async function markReconnected (db: Queryable, mailboxId: number): Promise<void> {
  await db.query(
    `UPDATE mailboxes SET health_state = 'pending', last_error = NULL, consecutive_failures = 0, next_poll_at = now() WHERE id = $1`, [mailboxId])
}

/**
 * The mailbox's OAuth grant is gone (src/oauth/connections): `reauth_required`
 * and no scheduled poll until a reconnect (saveConnection) makes it due again.
 */
export async function recordReauthRequired (db: Queryable, mailboxId: number, message: string): Promise<void> {
  await db.query(
    `UPDATE mailboxes SET health_state = 'reauth_required', last_error = $2, consecutive_failures = consecutive_failures + 1,
       next_poll_at = 'infinity' WHERE id = $1`,
    [mailboxId, message.slice(0, 2000)])
}

/** How many mailboxes are in each health state (the metrics gauge). */
export async function countByHealth (db: Queryable): Promise<Array<{ state: string, n: number }>> {
  const { rows } = await db.query<{ state: string, n: number }>('SELECT health_state AS state, count(*)::int AS n FROM mailboxes GROUP BY 1')
  return rows
}
