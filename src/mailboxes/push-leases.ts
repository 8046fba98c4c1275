/**
 * Leases on IMAP push mailboxes (sql/0016_imap_push.sql): which process holds
 * each one's IDLE connection. Times are the database's (now()), so the
 * processes' clocks never have to agree.
 */
import type { Queryable } from '../db/pool.ts'

/** A mailbox with `imap.push` on that may be held (its login is not known to fail). */
export interface PushMailbox {
  id: number
  name: string
  /** The IMAP server, lower-cased: the per-host cap counts by it. */
  host: string
  /** Changes when the mailbox's settings change: its connection is then made again. */
  fingerprint: string
  /** This holder's lease, just renewed. */
  mine: boolean
  /** Another holder's live lease. */
  taken: boolean
}

/**
 * One turn of a holder, one statement: renews its leases on the mailboxes
 * that still want push, drops its leases on those that no longer do (push
 * off, a login known to fail), and lists every push mailbox with who holds
 * it. A mailbox whose login fails (auth_failed, reauth_required) is left to
 * its polls, which back off and decide when it is healthy again.
 */
export async function renewAndList (db: Queryable, holder: string, leaseSeconds: number): Promise<PushMailbox[]> {
  const { rows } = await db.query<PushMailbox>(
    `WITH wanted AS (
       SELECT id, name, lower(config -> 'imap' ->> 'host') AS host, md5(config::text) AS fingerprint FROM mailboxes
       WHERE config -> 'imap' ->> 'push' = 'true' AND provider = 'imap' AND health_state NOT IN ('auth_failed', 'reauth_required')),
     renewed AS (
       UPDATE imap_push_leases l SET expires_at = now() + make_interval(secs => $2)
       FROM wanted w WHERE l.mailbox_id = w.id AND l.holder = $1 RETURNING l.mailbox_id),
     dropped AS (
       DELETE FROM imap_push_leases l WHERE l.holder = $1 AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.id = l.mailbox_id))
     SELECT w.id, w.name, w.host, w.fingerprint, r.mailbox_id IS NOT NULL AS mine,
       coalesce(l.holder <> $1 AND l.expires_at > now(), false) AS taken
     FROM wanted w LEFT JOIN renewed r ON r.mailbox_id = w.id LEFT JOIN imap_push_leases l ON l.mailbox_id = w.id
     ORDER BY w.id`, [holder, leaseSeconds])
  return rows
}

/**
 * Takes the leases of `ids` that are free (none, or expired); returns the ids
 * taken. Two processes asking at once for one mailbox: the row lock of
 * ON CONFLICT lets one take it, the other then finds it live.
 */
export async function acquireLeases (db: Queryable, holder: string, ids: number[], leaseSeconds: number): Promise<number[]> {
  const { rows } = await db.query<{ mailbox_id: number }>(
    `INSERT INTO imap_push_leases (mailbox_id, holder, expires_at)
     SELECT m.id, $1, now() + make_interval(secs => $3) FROM mailboxes m WHERE m.id = ANY($2::bigint[])
     ON CONFLICT (mailbox_id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, acquired_at = now()
       WHERE imap_push_leases.expires_at <= now()
     RETURNING mailbox_id`, [holder, ids, leaseSeconds])
  return rows.map(r => r.mailbox_id)
}

/** Lets go of every lease of `holder` (a process stopping): others take them at their next turn. */
export async function releaseLeases (db: Queryable, holder: string): Promise<void> {
  await db.query('DELETE FROM imap_push_leases WHERE holder = $1', [holder])
}
