/** Queries on graph_subscriptions (one row per webhook-mode Graph mailbox; see sql/0004_graph.sql). */
import { lockKey, unlock } from '../../db/locks.ts'
import { releaseClient, type Pool, type Queryable } from '../../db/pool.ts'
import { resealColumn, type ResealCount } from '../../db/reseal.ts'
import type { Keyring } from '../../shared/crypto.ts'
import { resealClientState } from '../client-state.ts'

export type SubscriptionState = 'active' | 'failed' | 'unavailable' | 'removed'

export interface SubscriptionRow {
  mailbox_id: number
  subscription_id: string | null
  expires_at: Date | null
  state: SubscriptionState
  last_error: string | null
  failures: number
}

/** Seconds to wait after the n-th failure in a row: 1, 2, 4 … 60 minutes. */
const RETRY_SQL = 'now() + make_interval(secs => least(3600, 60 * power(2, least(graph_subscriptions.failures, 6))))'

export async function getSubscription (db: Queryable, mailboxId: number): Promise<SubscriptionRow | null> {
  const { rows } = await db.query<SubscriptionRow>(
    'SELECT mailbox_id, subscription_id, expires_at, state, last_error, failures FROM graph_subscriptions WHERE mailbox_id = $1', [mailboxId])
  return rows[0] ?? null
}

export interface ActiveSubscription {
  subscriptionId: string
  sealedClientState: Buffer
  resource: string
  notificationUrl: string
  expiresAt: string
}

export async function saveActive (db: Queryable, mailboxId: number, s: ActiveSubscription): Promise<void> {
  await db.query(
    `INSERT INTO graph_subscriptions (mailbox_id, subscription_id, client_state, resource, notification_url, expires_at, state)
     VALUES ($1, $2, $3, $4, $5, $6, 'active')
     ON CONFLICT (mailbox_id) DO UPDATE SET subscription_id = EXCLUDED.subscription_id, client_state = EXCLUDED.client_state,
       resource = EXCLUDED.resource, notification_url = EXCLUDED.notification_url, expires_at = EXCLUDED.expires_at,
       state = 'active', last_error = NULL, failures = 0, next_attempt_at = now(), updated_at = now()`,
    [mailboxId, s.subscriptionId, s.sealedClientState, s.resource, s.notificationUrl, s.expiresAt])
}

/** Renewed or reauthorized: live, no error. */
export async function saveHealthy (db: Queryable, mailboxId: number, expiresAt?: string): Promise<void> {
  await db.query(
    `UPDATE graph_subscriptions SET expires_at = coalesce($2, expires_at), state = 'active', last_error = NULL, failures = 0,
       next_attempt_at = now(), updated_at = now() WHERE mailbox_id = $1`, [mailboxId, expiresAt ?? null])
}

/**
 * A failed attempt: the state to show (`active` when the subscription still
 * lives, e.g. a failed renewal), the error, and when to try again. Returns
 * the mailbox's name and the error as stored.
 */
export async function saveFailure (
  db: Queryable, mailboxId: number, state: SubscriptionState, message: string
): Promise<{ mailbox: string, error: string }> {
  const { rows: [saved] } = await db.query<{ mailbox: string, error: string }>(
    `INSERT INTO graph_subscriptions (mailbox_id, state, last_error, failures, next_attempt_at)
     VALUES ($1, $2, $3, 1, now() + interval '60 seconds')
     ON CONFLICT (mailbox_id) DO UPDATE SET state = EXCLUDED.state, last_error = EXCLUDED.last_error,
       failures = graph_subscriptions.failures + 1, next_attempt_at = ${RETRY_SQL}, updated_at = now()
     RETURNING (SELECT name FROM mailboxes WHERE id = $1) AS mailbox, last_error AS error`,
    [mailboxId, state, message.slice(0, 2000)])
  return saved
}

/** Graph removed the subscription (lifecycle subscriptionRemoved): shown as such, due for a new one at once. */
export async function markRemoved (db: Queryable, subscriptionId: string): Promise<void> {
  await db.query(
    `UPDATE graph_subscriptions SET state = 'removed', last_error = 'removed by Graph', next_attempt_at = now(), updated_at = now()
     WHERE subscription_id = $1`, [subscriptionId])
}

/** Every subscription's clientState re-encrypted under the first key (`mailslot secrets rotate`). */
export async function resealClientStates (db: Queryable, keyring: Keyring): Promise<ResealCount> {
  return await resealColumn(db, keyring, { table: 'graph_subscriptions', id: 'mailbox_id', column: 'client_state', reseal: resealClientState })
}

export async function deleteSubscriptionRow (db: Queryable, mailboxId: number): Promise<void> {
  await db.query('DELETE FROM graph_subscriptions WHERE mailbox_id = $1', [mailboxId])
}

/**
 * Runs `fn` while holding the mailbox's subscription lock (a session advisory
 * lock, not a transaction: Graph calls inside may take seconds). Every
 * process takes it before creating, renewing or deleting, so two processes
 * never create two subscriptions for one mailbox. `wait: false` gives up
 * at once ('busy') when another process holds it.
 */
export async function withSubscriptionLock<T> (pool: Pool, mailboxId: number, wait: boolean, fn: () => Promise<T>): Promise<T | 'busy'> {
  const client = await pool.connect()
  const key = lockKey('graph-subscription', mailboxId)
  let broken: unknown
  try {
    if (wait) await client.query('SELECT pg_advisory_lock($1)', [key])
    else if (!(await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key])).rows[0].ok) return 'busy'
    try {
      return await fn()
    } finally {
      // a failed unlock means a dead connection: discarded below, the lock dies with its session
      await unlock(client, key).catch((err: unknown) => { broken = err })
    }
  } finally {
    releaseClient(client, broken)
  }
}
