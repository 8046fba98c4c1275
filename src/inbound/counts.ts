/** Counts of inbound_emails for the pages: what is waiting, what became of recent mail. */
import type { Queryable } from '../db/pool.ts'
import type { EmailStatus } from './lifecycle.ts'

/**
 * Emails not yet handled (`received` or `processing`) per mailbox id; a
 * mailbox with none is left out. One pass over inbound_emails: no index on
 * status, on purpose (0005: it would cost every end-state write its HOT
 * update), and an admin page is opened far less often than mail is written.
 * Measured: 200,000 emails of 7 KB, 0.26–0.45 s on the 2-core machine.
 */
export async function waitingByMailbox (db: Queryable): Promise<Map<number, number>> {
  const { rows } = await db.query<{ mailbox_id: number, n: number }>(
    `SELECT mailbox_id, count(*)::int AS n FROM inbound_emails
     WHERE status IN ('received', 'processing') AND mailbox_id IS NOT NULL GROUP BY mailbox_id`)
  return new Map(rows.map(r => [Number(r.mailbox_id), r.n]))
}

export interface OutcomeCount { status: EmailStatus, reason: string | null, count: number }

/** The newest emails a status count looks at: a mailbox's busiest week stays one short index scan. */
export const RECENT_LIMIT = 10_000

/** A mailbox's emails of the last `days` days (at most the newest RECENT_LIMIT), counted by status and reason, most first. */
export async function recentOutcomes (db: Queryable, mailboxName: string, days: number): Promise<OutcomeCount[]> {
  const { rows } = await db.query<OutcomeCount>(
    `SELECT status, reason, count(*)::int AS count FROM (
       SELECT status, reason, received_at FROM inbound_emails WHERE mailbox_name = $1 ORDER BY id DESC LIMIT $3
     ) recent
     WHERE received_at > now() - make_interval(days => $2)
     GROUP BY status, reason ORDER BY count DESC, status, reason`,
    [mailboxName, days, RECENT_LIMIT])
  return rows
}
