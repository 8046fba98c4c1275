/**
 * Storing fetched messages: rows with their raw bytes and their email-handle jobs in ONE
 * transaction, so a stored email always gets handled and a handle job always
 * finds its email. Duplicates (same provider key, or same Message-ID and
 * checksum) are skipped by the unique indexes, not by a racy read first.
 */
import { inTransaction, insert, type Boss } from '../queue/boss.ts'
import { transaction, type Pool, type PoolClient } from '../db/pool.ts'
import type { FetchedMessage } from '../providers/types.ts'
import { messageIdentity, type MessageIdentity } from './identity.ts'
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
    const rows = await insertRows(client, mailbox, fetched, ids)
    if (rows.length === 0) return { stored: [], duplicates: fetched.length }
    const idByKey = new Map(rows.map(r => [r.provider_key, r.id]))
    const newOnes = fetched.filter(f => idByKey.has(f.ref.key))
    const stored = newOnes.map(f => idByKey.get(f.ref.key) as number)
    // before the commit, so that no handle job of ours can miss them (ids of a
    // rolled-back transaction are never used again: those entries just expire)
    for (const [i, f] of newOnes.entries()) db.recentRaws?.set(stored[i], f.raw)
    await queueHandling(db.boss, client, stored)
    return { stored, duplicates: fetched.length - stored.length }
  })
}

/**
 * Queues email-handle jobs for these emails inside the caller's transaction:
 * one job per HANDLE_JOB_EMAILS, since pg-boss's insert, fetch and completion
 * cost less once than once per email, and the jobs of a big batch are handled side by side.
 */
export async function queueHandling (boss: Boss, client: PoolClient, ids: number[]): Promise<void> {
  if (ids.length === 0) return
  const jobs = []
  for (let i = 0; i < ids.length; i += HANDLE_JOB_EMAILS) jobs.push({ data: { emailIds: ids.slice(i, i + HANDLE_JOB_EMAILS) } })
  await insert(boss, 'email-handle', jobs, { db: inTransaction(client) })
}

/** Rows per INSERT (6 parameters each, far below PostgreSQL's 65,535). */
const ROWS_PER_INSERT = 500

/**
 * The rows with their raw bytes, one parameter per value: node-pg sends a
 * Buffer parameter in binary, while a bytea[] parameter (unnest) travels as
 * an escaped text literal that PostgreSQL must scan. Conflicting ones are
 * skipped and not returned.
 */
async function insertRows (
  client: PoolClient, mailbox: { id: number, name: string }, fetched: FetchedMessage[], ids: MessageIdentity[]
): Promise<Array<{ id: number, provider_key: string }>> {
  const inserted: Array<{ id: number, provider_key: string }> = []
  for (let i = 0; i < fetched.length; i += ROWS_PER_INSERT) {
    const params: unknown[] = [mailbox.id, mailbox.name]
    const values: string[] = []
    for (let j = i; j < Math.min(i + ROWS_PER_INSERT, fetched.length); j++) {
      const f = fetched[j]
      const p = params.length
      const size = f.complete ? f.raw.length : Number(f.ref.size ?? f.raw.length)
      params.push(f.ref.key, ids[j].messageId, ids[j].checksum, size, f.complete, f.raw)
      values.push(`($1::bigint, $2, $${p + 1}, $${p + 2}, $${p + 3}::bytea, $${p + 4}::int, $${p + 5}::bool, $${p + 6}::bytea)`)
    }
    const { rows } = await client.query<{ id: number, provider_key: string }>(
      `INSERT INTO inbound_emails (mailbox_id, mailbox_name, provider_key, message_id, checksum, size, raw_complete, raw)
       VALUES ${values.join(', ')}
       ON CONFLICT DO NOTHING
       RETURNING id, provider_key`, params)
    inserted.push(...rows)
  }
  return inserted
}

/** Provider keys of these refs that are already stored (safe to mark processed). */
export async function storedKeys (pool: Pool, mailboxId: number, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set()
  const { rows } = await pool.query<{ provider_key: string }>(
    'SELECT provider_key FROM inbound_emails WHERE mailbox_id = $1 AND provider_key = ANY($2::text[])', [mailboxId, keys])
  return new Set(rows.map(r => r.provider_key))
}
