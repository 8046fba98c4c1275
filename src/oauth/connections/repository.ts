/**
 * Queries on `oauth_connections`: one mailbox's grant and its tokens (sealed;
 * they come out only to the token lifecycle in access-tokens.ts).
 */
import type { Queryable } from '../../db/pool.ts'
import { resealColumn, type ResealCount } from '../../db/reseal.ts'
import { decryptJson, encryptJson, reseal, type Keyring } from '../../shared/crypto.ts'
import { recordReauthRequired } from '../../mailboxes/health.ts'
import type { EventsContext } from '../../events/queue.ts'
import type { GrantedAccount, TokenSet } from '../types.ts'

const PURPOSE = 'oauth-tokens'

export interface SealedTokens { accessToken: string, refreshToken: string }

export interface ConnectionRow {
  id: number
  mailbox_id: number
  app_id: number
  account: string
  state: 'connected' | 'reauth_required'
  tokens: Buffer
  access_expires_at: Date
  connected_at: Date
  refreshed_at: Date | null
  last_error: string | null
}

export const sealTokens = (keyring: Keyring, t: SealedTokens): Buffer =>
  encryptJson(keyring, { accessToken: t.accessToken, refreshToken: t.refreshToken }, PURPOSE)

export const openTokens = (keyring: Keyring, sealed: Buffer): SealedTokens => decryptJson<SealedTokens>(keyring, sealed, PURPOSE)

export interface NewConnection {
  mailboxId: number
  appId: number
  account: GrantedAccount
  tokens: TokenSet
}

/**
 * Stores a mailbox's grant: a first connect, or a reconnect that replaces
 * the tokens in place (state `connected` again, one row per mailbox) and
 * makes the mailbox due for a poll at once. The mailbox keeps its cursor,
 * unless another account was connected (that cursor is not this mailbox's).
 */
export async function saveConnection (db: Queryable, keyring: Keyring, c: NewConnection): Promise<void> {
  await db.query(
    `WITH previous AS (SELECT subject FROM oauth_connections WHERE mailbox_id = $1),
     saved AS (
       INSERT INTO oauth_connections (mailbox_id, app_id, account, subject, tenant_id, tokens, access_expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (mailbox_id) DO UPDATE SET app_id = EXCLUDED.app_id, account = EXCLUDED.account, subject = EXCLUDED.subject,
         tenant_id = EXCLUDED.tenant_id, state = 'connected', tokens = EXCLUDED.tokens, access_expires_at = EXCLUDED.access_expires_at,
         connected_at = now(), refreshed_at = NULL, last_error = NULL
       RETURNING mailbox_id)
     UPDATE mailboxes m SET next_poll_at = now(),
       cursor = CASE WHEN EXISTS (SELECT 1 FROM previous WHERE subject <> $4) THEN NULL ELSE m.cursor END
     FROM saved WHERE m.id = saved.mailbox_id`,
    [c.mailboxId, c.appId, c.account.account, c.account.subject, c.account.tenantId, sealTokens(keyring, c.tokens), c.tokens.expiresAt])
}

/** A mailbox's connection; `lock` takes it FOR UPDATE (inside a transaction). */
export async function readConnection (db: Queryable, mailboxId: number, lock = false): Promise<ConnectionRow | undefined> {
  const { rows } = await db.query<ConnectionRow>(`SELECT * FROM oauth_connections WHERE mailbox_id = $1${lock ? ' FOR UPDATE' : ''}`, [mailboxId])
  return rows[0]
}

/** New tokens from a refresh, stored at once: the old refresh token is never sent again. */
export async function saveRefreshed (db: Queryable, keyring: Keyring, id: number, tokens: TokenSet): Promise<void> {
  await db.query('UPDATE oauth_connections SET tokens = $2, access_expires_at = $3, refreshed_at = now(), last_error = NULL WHERE id = $1',
    [id, sealTokens(keyring, tokens), tokens.expiresAt])
}

/**
 * The grant is gone: the connection and the mailbox's health say
 * `reauth_required` (a `mailbox.health_changed` event), and its polls stop.
 */
export async function markReauthRequired (ctx: EventsContext, db: Queryable, mailboxId: number, message: string): Promise<void> {
  await db.query("UPDATE oauth_connections SET state = 'reauth_required', last_error = $2 WHERE mailbox_id = $1", [mailboxId, message.slice(0, 2000)])
  await recordReauthRequired(ctx, db, mailboxId, message)
}

/** Connected mailboxes waiting for their owner to reconnect them (SQL, for queries over mailboxes `m`). */
export const AWAITING_RECONNECT = "EXISTS (SELECT 1 FROM oauth_connections c WHERE c.mailbox_id = m.id AND c.state = 'reauth_required')"

/** Every connection's tokens re-encrypted under the first key (`mailslot secrets rotate`). */
export async function resealConnectionTokens (db: Queryable, keyring: Keyring): Promise<ResealCount> {
  return await resealColumn(db, keyring, { table: 'oauth_connections', id: 'id', column: 'tokens', reseal: (k, sealed) => reseal(k, sealed, PURPOSE) })
}
