/**
 * Storing fetched messages: rows, raw bytes and their email-handle jobs in ONE
 * transaction, so a stored email always gets handled and a handle job always
 * finds its email. Duplicates (same provider key, or same Message-ID and
 * checksum) are skipped by the unique indexes, not by a racy read first.
 */
import { inTransaction, type Boss } from '../queue/boss.ts'
import { transaction, type Pool, type PoolClient } from '../db/pool.ts'
import type { FetchedMessage } from '../providers/types.ts'
import { messageIdentity } from './identity.ts'
import type { RecentRaws } from './recent-raws.ts'

/** Emails per email-handle job: what one handler call takes (claim, parse lane batch, end states). */
export const HANDLE_JOB_EMAILS = 100

export interface StoreResult {
  /** Ids of newly stored emails, in fetch order. */
  stored: number[]
  /** How many were already stored (skipped). */
  duplicates: number
}

export async function storeFetched (
  db: { pool: Pool, boss: Boss, recentRaws?: RecentRaws }, mailbox: { id: number, name: string }, fetched: FetchedMessage[]
): Promise<StoreResult> {
  if (fetched.length === 0) return { stored: [], duplicates: 0 }
  const ids = fetched.map(f => messageIdentity(f.raw))
  return await transaction(db.pool, async (client) => {
    const { rows } = await client.query<{ id: number, provider_key: string }>(
      `INSERT INTO inbound_emails (mailbox_id, mailbox_name, provider_key, message_id, checksum, size, raw_complete)
       SELECT $1, $2, k, m, c, s, rc FROM unnest($3::text[], $4::text[], $5::bytea[], $6::int[], $7::bool[]) AS t(k, m, c, s, rc)
       ON CONFLICT DO NOTHING
       RETURNING id, provider_key`,
      [mailbox.id, mailbox.name,
        fetched.map(f => f.ref.key), ids.map(i => i.messageId), ids.map(i => i.checksum),
        fetched.map(f => f.complete ? f.raw.length : Number(f.ref.size ?? f.raw.length)), fetched.map(f => f.complete)])
    if (rows.length === 0) return { stored: [], duplicates: fetched.length }
    const idByKey = new Map(rows.map(r => [r.provider_key, r.id]))
    const newOnes = fetched.filter(f => idByKey.has(f.ref.key))
    await insertRaw(client, newOnes.map(f => ({ id: idByKey.get(f.ref.key) as number, raw: f.raw })))
    const stored = newOnes.map(f => idByKey.get(f.ref.key) as number)
    // before the commit, so that no handle job of ours can miss them (ids of a
    // rolled-back transaction are never used again: those entries just expire)
    for (const [i, f] of newOnes.entries()) db.recentRaws?.set(stored[i], f.raw)
    // one job per HANDLE_JOB_EMAILS: pg-boss's insert, fetch and completion cost
    // less once than 100 times, and the jobs of a big batch are handled side by side
    const jobs = []
    for (let i = 0; i < stored.length; i += HANDLE_JOB_EMAILS) jobs.push({ data: { emailIds: stored.slice(i, i + HANDLE_JOB_EMAILS) } })
    await db.boss.insert('email-handle', jobs, { db: inTransaction(client) })
    return { stored, duplicates: fetched.length - stored.length }
  })
}

/** Rows per INSERT of raw bytes (2 parameters each, far below PostgreSQL's 65,535). */
const RAW_ROWS_PER_INSERT = 500

/**
 * One parameter per message: node-pg sends a Buffer parameter in binary, while
 * a bytea[] parameter travels as an escaped text literal that PostgreSQL must
 * scan (3.5 × the server CPU for 7 KB messages, measured).
 */
async function insertRaw (client: PoolClient, rows: Array<{ id: number, raw: Buffer }>): Promise<void> {
  for (let i = 0; i < rows.length; i += RAW_ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + RAW_ROWS_PER_INSERT)
    await client.query(
      `INSERT INTO inbound_email_raw (email_id, raw) VALUES ${chunk.map((_, j) => `($${2 * j + 1}::bigint, $${2 * j + 2}::bytea)`).join(', ')}`,
      chunk.flatMap(r => [r.id, r.raw]))
  }
}

/** Provider keys of these refs that are already stored (safe to mark processed). */
export async function storedKeys (pool: Pool, mailboxId: number, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set()
  const { rows } = await pool.query<{ provider_key: string }>(
    'SELECT provider_key FROM inbound_emails WHERE mailbox_id = $1 AND provider_key = ANY($2::text[])', [mailboxId, keys])
  return new Set(rows.map(r => r.provider_key))
}
