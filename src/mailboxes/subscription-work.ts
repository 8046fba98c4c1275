/**
 * Which Graph mailboxes need work on their change-notification subscription
 * (src/graph-webhooks/subscriptions): the rule lives here, beside the minute
 * scan that applies it to every mailbox at once, so that the check after a
 * sync applies the same one.
 */
import type { Queryable } from '../db/pool.ts'
import { AWAITING_RECONNECT } from '../oauth/connections/repository.ts'

export interface DueRule {
  /** A live subscription is due this long before it expires. */
  renewBeforeSeconds: number
  /** Whether this process can subscribe at all (it has a public URL). */
  hasPublicUrl: boolean
}

/** Does subscription row `s` need work? ($1 = renew-before seconds, $2 = has a public URL) */
const DUE = `(s.state = 'active' AND s.expires_at < now() + make_interval(secs => $1) AND s.next_attempt_at <= now())
  OR (s.state IN ('failed', 'removed') AND s.next_attempt_at <= now())
  OR (s.state = 'unavailable' AND $2)`

/** A mailbox's subscription: live (active, not expired) and due; null when it has none. */
export async function subscriptionStatus (
  db: Queryable, mailboxId: number, rule: DueRule
): Promise<{ live: boolean, due: boolean } | null> {
  const { rows } = await db.query<{ live: boolean, due: boolean }>(
    `SELECT s.state = 'active' AND s.expires_at > now() AS live, ${DUE} AS due
     FROM graph_subscriptions s WHERE s.mailbox_id = $3`,
    [rule.renewBeforeSeconds, rule.hasPublicUrl, mailboxId])
  return rows[0] ?? null
}

/**
 * Graph mailboxes needing work: in webhook mode with no subscription or a due
 * one; polled with one left over. Not those waiting for a reconnect: no
 * token could be had for them.
 */
export async function mailboxesNeedingSubscriptionWork (db: Queryable, rule: DueRule): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT m.id FROM mailboxes m LEFT JOIN graph_subscriptions s ON s.mailbox_id = m.id
     WHERE m.provider = 'graph' AND NOT ${AWAITING_RECONNECT} AND CASE WHEN coalesce(m.config->>'mode', 'webhook') = 'webhook'
       THEN s.mailbox_id IS NULL OR ${DUE}
       ELSE s.mailbox_id IS NOT NULL END`,
    [rule.renewBeforeSeconds, rule.hasPublicUrl])
  return rows.map(r => r.id)
}
