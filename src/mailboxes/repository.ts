/** Queries on `mailboxes`. Secrets go in sealed and come out only through loadMailbox. */
import type { Queryable } from '../db/pool.ts'
import { AppError, errorCode } from '../shared/errors.ts'
import { joinSecrets, openSecrets, resealSecrets, sealSecrets, splitSecrets } from './secrets.ts'
import type { Keyring } from '../shared/crypto.ts'
import { resealColumn, type ResealCount } from '../db/reseal.ts'
import type { Mailbox, MailboxHealth, MailboxSpec } from './types.ts'
import type { ConnectionView } from '../oauth/types.ts'
import type { EventsContext } from '../events/queue.ts'
import { noticeHealth } from './health.ts'

/** What the API and CLI show: the config without secrets, plus state. */
export type MailboxView = MailboxSpec & {
  id: number
  createdAt: string
  updatedAt: string
  health: MailboxHealth
  /** Graph webhook mailboxes: their change-notification subscription (src/graph-webhooks/subscriptions). */
  subscription: { id: string | null, expiresAt: string | null, state: string, lastError: string | null } | null
  /** Mailboxes a customer connected through OAuth: the grant (src/oauth/connections). */
  connection: ConnectionView | null
}

/** A mailboxes row, all columns. */
export interface MailboxRow {
  id: number
  name: string
  config: MailboxSpec
  secrets: Buffer | null
  cursor: unknown
  created_at: Date
  updated_at: Date
  health_state: MailboxHealth['state']
  last_poll_at: Date | null
  last_success_at: Date | null
  last_error: string | null
  consecutive_failures: number
  declared_by_config: boolean
  // joined from graph_subscriptions by VIEW_SQL
  sub_id?: string | null
  sub_expires_at?: Date | null
  sub_state?: string | null
  sub_last_error?: string | null
  // joined from oauth_connections and oauth_apps by VIEW_SQL
  conn_app?: string | null
  conn_account?: string | null
  conn_state?: ConnectionView['state'] | null
  conn_connected_at?: Date | null
}

/** Mailboxes with their Graph subscription (an active one past its expiry shows as `expired`) and their OAuth connection. */
const VIEW_SQL = `SELECT m.*, s.subscription_id AS sub_id, s.expires_at AS sub_expires_at, s.last_error AS sub_last_error,
    CASE WHEN s.state = 'active' AND s.expires_at <= now() THEN 'expired' ELSE s.state END AS sub_state,
    a.name AS conn_app, c.account AS conn_account, c.state AS conn_state, c.connected_at AS conn_connected_at
  FROM mailboxes m LEFT JOIN graph_subscriptions s ON s.mailbox_id = m.id
    LEFT JOIN oauth_connections c ON c.mailbox_id = m.id LEFT JOIN oauth_apps a ON a.id = c.app_id`

const iso = (d: Date | null): string | null => d === null ? null : d.toISOString()

export function toView (row: MailboxRow): MailboxView {
  return {
    ...row.config,
    id: row.id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    health: {
      state: row.health_state,
      lastPollAt: iso(row.last_poll_at),
      lastSuccessAt: iso(row.last_success_at),
      lastError: row.last_error,
      consecutiveFailures: row.consecutive_failures
    },
    subscription: row.sub_state == null
      ? null
      : { id: row.sub_id ?? null, expiresAt: iso(row.sub_expires_at ?? null), state: row.sub_state, lastError: row.sub_last_error ?? null },
    connection: row.conn_state == null
      ? null
      : { app: row.conn_app!, account: row.conn_account!, state: row.conn_state, connectedAt: row.conn_connected_at!.toISOString() }
  }
}

/** What writing a mailbox needs beside the database: the keyring seals its secrets; a new mailbox is an operator event. */
export type MailboxWriteContext = EventsContext & { keyring: Keyring }

/** A new mailbox's health comes from nothing: noticed like any change of health. */
async function noticeCreated (ctx: EventsContext, db: Queryable, row: MailboxRow): Promise<void> {
  await noticeHealth(ctx, db, { name: row.name, previous: null, state: row.health_state, error: row.last_error, at: row.created_at })
}

export async function createMailbox (ctx: MailboxWriteContext, db: Queryable, spec: MailboxSpec): Promise<MailboxView> {
  const { config, secrets } = splitSecrets(spec)
  let row: MailboxRow
  try {
    const { rows } = await db.query<MailboxRow>(
      `INSERT INTO mailboxes (name, provider, config, secrets) VALUES ($1, $2, $3, $4) RETURNING *`,
      [spec.name, spec.provider, config, sealSecrets(ctx.keyring, secrets)])
    row = rows[0]
  } catch (err) {
    if (errorCode(err) === '23505') throw new AppError('mailbox_exists', `a mailbox named "${spec.name}" exists`)
    throw err
  }
  await noticeCreated(ctx, db, row)
  return toView(row)
}

/**
 * Where a mailbox row's mail comes from, as SQL over the row `t`: a cursor
 * (a UID, a delta link) means something only there.
 */
const sourceOf = (t: string): string => `jsonb_build_array(${t}.provider, ${['imap,host', 'imap,port', 'imap,user', 'imap,folder', 'graph,cloud', 'graph,baseUrl', 'graph,user', 'graph,folder']
  .map(path => `${t}.config #> '{${path}}'`).join(', ')})`

/**
 * Create, or replace the settings of an existing mailbox. Keeps health, and
 * the cursor unless the mail now comes from elsewhere (another server, user,
 * folder or Graph endpoint: the old cursor would name the old one's
 * messages, or a delta link on the old host).
 * `declared`: the configuration file's, which adopts a same-named one.
 */
export async function upsertMailbox (
  ctx: MailboxWriteContext, db: Queryable, spec: MailboxSpec, o: { declared?: boolean } = {}
): Promise<{ view: MailboxView, created: boolean }> {
  const { config, secrets } = splitSecrets(spec)
  const { rows } = await db.query<MailboxRow & { created: boolean }>(
    `INSERT INTO mailboxes (name, provider, config, secrets, declared_by_config) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (name) DO UPDATE SET provider = EXCLUDED.provider, config = EXCLUDED.config,
       secrets = EXCLUDED.secrets, updated_at = now(),
       declared_by_config = mailboxes.declared_by_config OR EXCLUDED.declared_by_config,
       cursor = CASE WHEN ${sourceOf('mailboxes')} IS DISTINCT FROM ${sourceOf('EXCLUDED')} THEN NULL ELSE mailboxes.cursor END,
       -- changed settings deserve a fresh try (e.g. a corrected password)
       next_poll_at = CASE WHEN mailboxes.config IS DISTINCT FROM EXCLUDED.config OR mailboxes.secrets IS DISTINCT FROM EXCLUDED.secrets
                           THEN now() ELSE mailboxes.next_poll_at END
     -- xmax is 0 on a row this statement inserted, set on one it updated
     RETURNING *, (xmax = 0) AS created`,
    [spec.name, spec.provider, config, sealSecrets(ctx.keyring, secrets), o.declared ?? false])
  if (rows[0].created) await noticeCreated(ctx, db, rows[0])
  return { view: toView(rows[0]), created: rows[0].created }
}

/** Mailboxes the configuration file declared before and no longer declares. */
export async function undeclaredMailboxes (db: Queryable, declared: string[]): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    'SELECT name FROM mailboxes WHERE declared_by_config AND NOT (name = ANY($1::text[])) ORDER BY name', [declared])
  return rows.map(r => r.name)
}

export async function listMailboxes (db: Queryable): Promise<MailboxView[]> {
  const { rows } = await db.query<MailboxRow>(`${VIEW_SQL} ORDER BY m.name`)
  return rows.map(toView)
}

export async function getMailboxView (db: Queryable, name: string): Promise<MailboxView> {
  const { rows } = await db.query<MailboxRow>(`${VIEW_SQL} WHERE m.name = $1`, [name])
  if (rows.length === 0) throw new AppError('not_found', `no mailbox named "${name}"`)
  return toView(rows[0])
}

export async function mailboxIdByName (db: Queryable, name: string): Promise<number> {
  const { rows } = await db.query<{ id: number }>('SELECT id FROM mailboxes WHERE name = $1', [name])
  if (rows.length === 0) throw new AppError('not_found', `no mailbox named "${name}"`)
  return rows[0].id
}

export async function deleteMailbox (db: Queryable, name: string): Promise<void> {
  const { rowCount } = await db.query('DELETE FROM mailboxes WHERE name = $1', [name])
  if (rowCount === 0) throw new AppError('not_found', `no mailbox named "${name}"`)
}

/** The mailbox with its secrets, for providers and deliveries; null when deleted. */
export async function loadMailbox (db: Queryable, keyring: Keyring, id: number): Promise<Mailbox | null> {
  const { rows } = await db.query<MailboxRow>('SELECT * FROM mailboxes WHERE id = $1', [id])
  return rows.length === 0 ? null : mailboxFromRow(keyring, rows[0])
}

/** A mailboxes row (all columns) as the mailbox with its secrets; throws when they cannot be decrypted. */
export function mailboxFromRow (keyring: Keyring, row: Pick<MailboxRow, 'id' | 'config' | 'secrets' | 'cursor'>): Mailbox {
  return { id: row.id, spec: joinSecrets(row.config, openSecrets(keyring, row.secrets)), cursor: row.cursor }
}

/** The wildcard address of the first built-in mailbox that has one (a new project's default); null when none. */
export async function firstBuiltinAddress (db: Queryable): Promise<string | null> {
  const { rows } = await db.query<{ address: string }>(
    `SELECT config->>'address' AS address FROM mailboxes
     WHERE coalesce(config->'delivery'->>'kind', 'builtin') = 'builtin' AND config ? 'address' ORDER BY id LIMIT 1`)
  return rows[0]?.address ?? null
}

/** Every mailbox's secrets re-encrypted under the first key (`mailslot secrets rotate`). */
export async function resealMailboxSecrets (db: Queryable, keyring: Keyring): Promise<ResealCount> {
  return await resealColumn(db, keyring, { table: 'mailboxes', id: 'id', column: 'secrets', reseal: resealSecrets })
}
