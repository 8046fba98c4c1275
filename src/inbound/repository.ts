/** Queries on inbound_emails for the API and CLI. */
import type { Queryable } from '../db/pool.ts'
import { AppError } from '../shared/errors.ts'
import type { EmailStatus } from './lifecycle.ts'

export interface EmailView {
  id: number
  mailbox: string
  messageId: string
  status: EmailStatus
  reason: string | null
  receivedAt: string
  handledAt: string | null
  handler: string | null
  result: unknown
  subject: string | null
  from: string | null
  size: number
  attempts: number
  lastError: string | null
}

interface Row {
  id: number; mailbox_name: string; message_id: string; status: EmailStatus; reason: string | null
  received_at: Date; handled_at: Date | null; handler: string | null; result: unknown
  subject: string | null; from_address: string | null; size: number; attempts: number; last_error: string | null
}

const COLUMNS = `id, mailbox_name, message_id, status, reason, received_at, handled_at, handler, result,
  parsed->>'subject' AS subject, parsed->'from'->>'address' AS from_address, size, attempts, last_error`

function toView (r: Row): EmailView {
  return {
    id: r.id, mailbox: r.mailbox_name, messageId: r.message_id, status: r.status, reason: r.reason,
    receivedAt: r.received_at.toISOString(), handledAt: r.handled_at?.toISOString() ?? null,
    handler: r.handler, result: r.result, subject: r.subject, from: r.from_address, size: r.size,
    attempts: r.attempts, lastError: r.last_error
  }
}

export interface EmailFilter { mailbox?: string, status?: string, limit?: number, beforeId?: number }

export async function listEmails (db: Queryable, f: EmailFilter): Promise<EmailView[]> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM inbound_emails
     WHERE ($1::text IS NULL OR mailbox_name = $1) AND ($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [f.mailbox ?? null, f.status ?? null, f.beforeId ?? null, f.limit ?? 100])
  return rows.map(toView)
}

export async function getEmail (db: Queryable, id: number): Promise<EmailView> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM inbound_emails WHERE id = $1`, [id])
  if (rows.length === 0) throw new AppError('not_found', `no email ${id}`)
  return toView(rows[0])
}

export async function getRaw (db: Queryable, id: number): Promise<Buffer> {
  // raw is NULL exactly when the retention job purged it (CHECK inbound_emails_raw_kept)
  const { rows } = await db.query<{ raw: Buffer | null }>('SELECT raw FROM inbound_emails WHERE id = $1', [id])
  if (rows.length === 0) throw new AppError('not_found', `no email ${id}`)
  if (rows[0].raw === null) throw new AppError('not_found', `the raw message of email ${id} was purged after its retention period`)
  return rows[0].raw
}

/**
 * The one rule of what can be replayed: an email not being handled right now
 * whose raw message is still kept (the retention job may purge it at any time).
 */
const REPLAYABLE = `status <> 'processing' AND raw_purged_at IS NULL`
const BACK_TO_RECEIVED = `status = 'received', attempts = 0, last_error = NULL`

/** Puts an email back to `received` for another handling pass; not_replayable if it is being handled or was purged. */
export async function resetForReplay (db: Queryable, id: number): Promise<void> {
  const { rows } = await db.query<{ status: string, has_raw: boolean }>(
    'SELECT status, raw IS NOT NULL AS has_raw FROM inbound_emails WHERE id = $1', [id])
  if (rows.length === 0) throw new AppError('not_found', `no email ${id}`)
  if (!rows[0].has_raw) throw new AppError('not_replayable', `email ${id} has no raw message left to replay`)
  // the rule again in the UPDATE: the retention job may have purged it since the check above
  const { rowCount } = await db.query(`UPDATE inbound_emails SET ${BACK_TO_RECEIVED} WHERE id = $1 AND ${REPLAYABLE}`, [id])
  if (rowCount === 0) throw new AppError('not_replayable', `email ${id} is being handled right now or its raw message was just purged`)
}

export interface ReplayFilter {
  status: EmailStatus
  mailbox?: string
  /** Received at or after. */
  since?: Date
}

/**
 * Puts the next `limit` replayable emails matching the filter with an id
 * above `afterId` back to `received`; resolves to their ids, ascending.
 * Pages by id (the primary key): each call reads on from where the last one stopped.
 */
export async function resetNextForReplay (db: Queryable, filter: ReplayFilter, afterId: number, limit: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `UPDATE inbound_emails SET ${BACK_TO_RECEIVED}
     WHERE id IN (SELECT id FROM inbound_emails
                  WHERE id > $1 AND status = $2 AND ($3::text IS NULL OR mailbox_name = $3) AND ($4::timestamptz IS NULL OR received_at >= $4)
                    AND ${REPLAYABLE}
                  ORDER BY id LIMIT $5 FOR UPDATE)
     RETURNING id`,
    [afterId, filter.status, filter.mailbox ?? null, filter.since ?? null, limit])
  return rows.map(r => r.id).sort((a, b) => a - b)
}
