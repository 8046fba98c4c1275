/**
 * Queries on `connect_links`: signed, expiring, single-use links a customer
 * opens to connect a mailbox. The URL's token is stored as its SHA-256 only;
 * a link's state (open, used, expired) is read with the database's clock.
 */
import { randomBytes } from 'node:crypto'
import type { Queryable } from '../../db/pool.ts'
import { linkTokenHash, looksLikeLinkToken, newLinkToken } from '../../shared/link-token.ts'
import type { ConnectableMailbox } from '../connections/mailbox-spec.ts'
import { resealSecrets } from '../../mailboxes/secrets.ts'
import { resealColumn, type ResealCount } from '../../db/reseal.ts'
import type { Keyring } from '../../shared/crypto.ts'

export type LinkState = 'open' | 'used' | 'expired'

export interface ConnectLink {
  /** Public id (API answers, the admin page); the token is another thing. */
  id: string
  /** The new mailbox's JSON, secrets split off; `{name}` alone for a reconnect. */
  mailbox: ConnectableMailbox
  /** The mailbox a reconnect link is for; null when the link creates one. */
  mailboxId: number | null
  /** The new mailbox's sealed secrets (mailboxes/secrets.ts), if it has any. */
  secrets: Buffer | null
  /** Names of the OAuth apps the customer may choose from. */
  apps: string[]
  /** Sent to the provider as `login_hint`: the account being reconnected. */
  loginHint: string | null
  expiresAt: Date
  usedAt: Date | null
  createdAt: Date
  state: LinkState
}

export interface NewLink {
  mailbox: ConnectableMailbox
  mailboxId: number | null
  secrets: Buffer | null
  apps: string[]
  loginHint: string | null
  expiresInMinutes: number
}

interface LinkRow {
  id: string
  mailbox: ConnectableMailbox
  mailbox_id: number | null
  secrets: Buffer | null
  apps: string[]
  login_hint: string | null
  expires_at: Date
  used_at: Date | null
  created_at: Date
  state: LinkState
}

const SELECT = `SELECT *, CASE WHEN used_at IS NOT NULL THEN 'used' WHEN expires_at <= now() THEN 'expired' ELSE 'open' END AS state
  FROM connect_links`

function fromRow (r: LinkRow): ConnectLink {
  return {
    id: r.id,
    mailbox: r.mailbox,
    mailboxId: r.mailbox_id,
    secrets: r.secrets,
    apps: r.apps,
    loginHint: r.login_hint,
    expiresAt: r.expires_at,
    usedAt: r.used_at,
    createdAt: r.created_at,
    state: r.state
  }
}

/** Stores a link; its token is returned once, here, and never again. */
export async function insertLink (db: Queryable, link: NewLink): Promise<{ link: ConnectLink, token: string }> {
  const { token, hash } = newLinkToken()
  const id = 'cl_' + randomBytes(12).toString('base64url')
  const { rows } = await db.query<LinkRow>(
    `INSERT INTO connect_links (id, token_hash, mailbox, mailbox_id, secrets, apps, login_hint, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(mins => $8))
     RETURNING *, 'open' AS state`,
    [id, hash, link.mailbox, link.mailboxId, link.secrets, link.apps, link.loginHint, link.expiresInMinutes])
  return { link: fromRow(rows[0]), token }
}

/** The link a URL token opens, whatever its state; null for a token no link has. */
export async function linkByToken (db: Queryable, token: string): Promise<ConnectLink | null> {
  if (!looksLikeLinkToken(token)) return null
  const { rows } = await db.query<LinkRow>(`${SELECT} WHERE token_hash = $1`, [linkTokenHash(token)])
  return rows.length === 0 ? null : fromRow(rows[0])
}

export async function linkById (db: Queryable, id: string): Promise<ConnectLink | null> {
  const { rows } = await db.query<LinkRow>(`${SELECT} WHERE id = $1`, [id])
  return rows.length === 0 ? null : fromRow(rows[0])
}

/**
 * Uses the link up, if it is still open. Inside the transaction that connects
 * the mailbox: of two callbacks racing for one link, the second waits on the
 * row and then finds it used (false).
 */
export async function claimLink (db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE connect_links SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now()', [id])
  return rowCount === 1
}

/** The newest links first (the admin page). */
export async function recentLinks (db: Queryable, limit = 50): Promise<ConnectLink[]> {
  const { rows } = await db.query<LinkRow>(`${SELECT} ORDER BY created_at DESC, id LIMIT $1`, [limit])
  return rows.map(fromRow)
}

/** Every link's sealed secrets re-encrypted under the first key (`mailslot secrets rotate`). */
export async function resealLinkSecrets (db: Queryable, keyring: Keyring): Promise<ResealCount> {
  return await resealColumn(db, keyring, { table: 'connect_links', id: 'id', column: 'secrets', reseal: resealSecrets })
}
