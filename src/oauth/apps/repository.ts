/**
 * Queries on `oauth_apps`. The client secret is sealed on the way in and
 * comes out only through getApp / getAppById (for the OAuth protocol code);
 * every view leaves it out.
 */
import type { Queryable } from '../../db/pool.ts'
import { resealColumn, type ResealCount } from '../../db/reseal.ts'
import { decryptJson, encryptJson, reseal, type Keyring } from '../../shared/crypto.ts'
import { AppError, errorCode } from '../../shared/errors.ts'
import type { OAuthApp, OAuthAppSpec } from '../types.ts'

/** What the API shows: the app with its defaults, no secret. */
export type OAuthAppView = Omit<OAuthAppSpec, 'clientSecret'> & { createdAt: string, updatedAt: string }

interface AppRow {
  id: number
  name: string
  config: Omit<OAuthAppSpec, 'clientSecret'>
  secrets: Buffer
  created_at: Date
  updated_at: Date
}

const PURPOSE = 'oauth-app-secrets'

function seal (keyring: Keyring, spec: OAuthAppSpec): { config: Omit<OAuthAppSpec, 'clientSecret'>, sealed: Buffer } {
  const { clientSecret, ...config } = spec
  return { config, sealed: encryptJson(keyring, { clientSecret }, PURPOSE) }
}

const toView = (row: AppRow): OAuthAppView =>
  ({ ...row.config, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() })

function toApp (keyring: Keyring, row: AppRow): OAuthApp {
  const { clientSecret } = decryptJson<{ clientSecret: string }>(keyring, row.secrets, PURPOSE)
  return { ...row.config, clientSecret, id: row.id }
}

/** `spec` with its defaults (schema.ts withDefaults). */
export async function createApp (db: Queryable, keyring: Keyring, spec: OAuthAppSpec): Promise<OAuthAppView> {
  const { config, sealed } = seal(keyring, spec)
  try {
    const { rows } = await db.query<AppRow>(
      'INSERT INTO oauth_apps (name, kind, config, secrets) VALUES ($1, $2, $3, $4) RETURNING *', [spec.name, spec.kind, config, sealed])
    return toView(rows[0])
  } catch (err) {
    if (errorCode(err) === '23505') throw new AppError('oauth_app_exists', `an OAuth app named "${spec.name}" exists`)
    throw err
  }
}

/** Names of the mailboxes connected through an app (none: it may go or change its kind). */
async function mailboxesUsing (db: Queryable, name: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT m.name FROM oauth_connections c JOIN oauth_apps a ON a.id = c.app_id JOIN mailboxes m ON m.id = c.mailbox_id
     WHERE a.name = $1 ORDER BY m.name`, [name])
  return rows.map(r => r.name)
}

const inUse = (name: string, mailboxes: string[], what: string): AppError =>
  new AppError('oauth_app_in_use', `the OAuth app "${name}" ${what} while mailboxes are connected through it (${mailboxes.join(', ')})`)

/**
 * Create, or replace the settings of an existing app (the configuration
 * file, which adopts a same-named one). Its kind and access cannot change
 * while mailboxes are connected through it: their settings follow from them.
 */
export async function upsertApp (
  db: Queryable, keyring: Keyring, spec: OAuthAppSpec, o: { declared?: boolean } = {}
): Promise<{ view: OAuthAppView, created: boolean }> {
  const { config, sealed } = seal(keyring, spec)
  const { rows } = await db.query<AppRow & { created: boolean }>(
    `INSERT INTO oauth_apps (name, kind, config, secrets, declared_by_config) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, config = EXCLUDED.config, secrets = EXCLUDED.secrets, updated_at = now(),
       declared_by_config = oauth_apps.declared_by_config OR EXCLUDED.declared_by_config
     WHERE (oauth_apps.kind = EXCLUDED.kind AND oauth_apps.config->>'access' = EXCLUDED.config->>'access')
       OR NOT EXISTS (SELECT 1 FROM oauth_connections c WHERE c.app_id = oauth_apps.id)
     -- xmax is 0 on a row this statement inserted, set on one it updated
     RETURNING *, (xmax = 0) AS created`,
    [spec.name, spec.kind, config, sealed, o.declared ?? false])
  if (rows.length === 0) throw inUse(spec.name, await mailboxesUsing(db, spec.name), 'cannot change its kind or access')
  return { view: toView(rows[0]), created: rows[0].created }
}

export async function listApps (db: Queryable): Promise<OAuthAppView[]> {
  const { rows } = await db.query<AppRow>('SELECT * FROM oauth_apps ORDER BY name')
  return rows.map(toView)
}

export async function getAppView (db: Queryable, name: string): Promise<OAuthAppView> {
  const { rows } = await db.query<AppRow>('SELECT * FROM oauth_apps WHERE name = $1', [name])
  if (rows.length === 0) throw new AppError('not_found', `no OAuth app named "${name}"`)
  return toView(rows[0])
}

/** The app with its secret, for the OAuth protocol code; null when there is none of that name. */
export async function getApp (db: Queryable, keyring: Keyring, name: string): Promise<OAuthApp | null> {
  const { rows } = await db.query<AppRow>('SELECT * FROM oauth_apps WHERE name = $1', [name])
  return rows.length === 0 ? null : toApp(keyring, rows[0])
}

export async function getAppById (db: Queryable, keyring: Keyring, id: number): Promise<OAuthApp | null> {
  const { rows } = await db.query<AppRow>('SELECT * FROM oauth_apps WHERE id = $1', [id])
  return rows.length === 0 ? null : toApp(keyring, rows[0])
}

/** Deletes an app no mailbox is connected through: 404 unknown, 409 in use. */
export async function deleteApp (db: Queryable, name: string): Promise<void> {
  let rowCount: number | null
  try {
    ({ rowCount } = await db.query(
      'DELETE FROM oauth_apps a WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM oauth_connections c WHERE c.app_id = a.id)', [name]))
  } catch (err) {
    // a connection made meanwhile
    if (errorCode(err) !== '23503') throw err
    rowCount = 0
  }
  if (rowCount !== 0) return
  const using = await mailboxesUsing(db, name)
  if (using.length > 0) throw inUse(name, using, 'cannot be deleted')
  // not_found; or the connection that held it went meanwhile: try again
  await getAppView(db, name)
  await deleteApp(db, name)
}

/** Apps the configuration file declared before and no longer declares. */
export async function undeclaredApps (db: Queryable, declared: string[]): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    'SELECT name FROM oauth_apps WHERE declared_by_config AND NOT (name = ANY($1::text[])) ORDER BY name', [declared])
  return rows.map(r => r.name)
}

/** Every app's client secret re-encrypted under the first key (`mailslot secrets rotate`). */
export async function resealAppSecrets (db: Queryable, keyring: Keyring): Promise<ResealCount> {
  return await resealColumn(db, keyring, { table: 'oauth_apps', id: 'id', column: 'secrets', reseal: (k, sealed) => reseal(k, sealed, PURPOSE) })
}
