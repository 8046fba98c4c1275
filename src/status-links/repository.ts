/**
 * Every statement on `status_links`: a read-only status page of one mailbox
 * for its owner. The URL carries a random token (256 bits); the table keeps
 * only its SHA-256, so a copy of the database opens no page, and a lookup by
 * digest leaks nothing through timing.
 */
import type { Queryable } from '../db/pool.ts'
import { linkTokenHash, newLinkToken } from '../shared/link-token.ts'

export interface NewStatusLink { token: string, expiresAt: Date }

export async function createStatusLink (db: Queryable, mailboxId: number, expiresInDays: number): Promise<NewStatusLink> {
  const { token, hash } = newLinkToken()
  const { rows } = await db.query<{ expires_at: Date }>(
    // the mailbox's expired links go at the same time: the table holds live links only, give or take
    `WITH expired AS (DELETE FROM status_links WHERE mailbox_id = $2 AND expires_at <= now())
     INSERT INTO status_links (token_hash, mailbox_id, expires_at) VALUES ($1, $2, now() + make_interval(days => $3))
     RETURNING expires_at`, [hash, mailboxId, expiresInDays])
  return { token, expiresAt: rows[0].expires_at }
}

/** The name of the mailbox a live link shows, with the link's expiry; null when unknown or expired. */
export async function findStatusLink (db: Queryable, token: string): Promise<{ mailboxName: string, expiresAt: Date } | null> {
  const { rows } = await db.query<{ name: string, expires_at: Date }>(
    `SELECT m.name, s.expires_at FROM status_links s JOIN mailboxes m ON m.id = s.mailbox_id
     WHERE s.token_hash = $1 AND s.expires_at > now()`, [linkTokenHash(token)])
  return rows.length === 0 ? null : { mailboxName: rows[0].name, expiresAt: rows[0].expires_at }
}
