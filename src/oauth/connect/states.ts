/**
 * Queries on `oauth_states`: one authorization request in flight. Its
 * `state` is a link token (256 bits, stored as SHA-256), bound to one link
 * and one app; the PKCE code verifier and the nonce are sealed beside it.
 * A state is taken once: the callback claims it before any token request,
 * so a replayed or concurrent callback never causes a second one.
 */
import type { Queryable } from '../../db/pool.ts'
import { decryptJson, encryptJson, type Keyring } from '../../shared/crypto.ts'
import { linkTokenHash, looksLikeLinkToken, newLinkToken } from '../../shared/link-token.ts'

const PURPOSE = 'oauth-state'
/** Long enough to sign in and consent (with MFA), short enough that a stale tab fails plainly. */
const STATE_TTL_SECONDS = 15 * 60

export interface StateSecrets { codeVerifier: string, nonce: string }

export interface ClaimedState extends StateSecrets {
  linkId: string
  appName: string
}

/** Why a callback's state was refused. */
export type StateRefusal = 'unknown' | 'used' | 'expired'

export async function createState (
  db: Queryable, keyring: Keyring, s: { linkId: string, appName: string } & StateSecrets
): Promise<string> {
  const { token, hash } = newLinkToken()
  const secrets: StateSecrets = { codeVerifier: s.codeVerifier, nonce: s.nonce }
  await db.query(
    `INSERT INTO oauth_states (state_hash, link_id, app_name, secrets, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
    [hash, s.linkId, s.appName, encryptJson(keyring, secrets, PURPOSE), STATE_TTL_SECONDS])
  return token
}

/** Takes the state for its one callback; a refusal says why when it is not there to take. */
export async function claimState (db: Queryable, keyring: Keyring, state: string): Promise<ClaimedState | StateRefusal> {
  if (!looksLikeLinkToken(state)) return 'unknown'
  const hash = linkTokenHash(state)
  const { rows } = await db.query<{ link_id: string, app_name: string, secrets: Buffer }>(
    `UPDATE oauth_states SET used_at = now() WHERE state_hash = $1 AND used_at IS NULL AND expires_at > now()
     RETURNING link_id, app_name, secrets`, [hash])
  if (rows.length === 1) {
    const { codeVerifier, nonce } = decryptJson<StateSecrets>(keyring, rows[0].secrets, PURPOSE)
    return { linkId: rows[0].link_id, appName: rows[0].app_name, codeVerifier, nonce }
  }
  const seen = await db.query<{ used: boolean }>('SELECT used_at IS NOT NULL AS used FROM oauth_states WHERE state_hash = $1', [hash])
  if (seen.rows.length === 0) return 'unknown'
  return seen.rows[0].used ? 'used' : 'expired'
}

/** States kept this long past their expiry, so that a late replay is still told `used` or `expired` rather than `unknown`. */
export const STATE_KEEP_DAYS = 7

/** Deletes the states past their expiry by STATE_KEEP_DAYS (the hourly retention job); resolves to how many. */
export async function purgeStaleStates (db: Queryable): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM oauth_states WHERE expires_at < now() - make_interval(days => $1)', [STATE_KEEP_DAYS])
  return rowCount ?? 0
}
