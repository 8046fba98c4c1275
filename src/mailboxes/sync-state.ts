/** What a sync reads and writes on its mailbox's row (start, cursor), and which mailboxes are due one. */
import { transaction, type Pool, type Queryable } from '../db/pool.ts'
import type { MailboxRow } from './repository.ts'

/**
 * Takes the sync lock `lockKey` on `lockClient` (a session lock, held until
 * let go on that connection) and, only if it was free, records the poll start
 * and reads the row: one statement. `row` is null when the mailbox is gone.
 */
export async function lockAndStartPoll (
  lockClient: Queryable, mailboxId: number, lockKey: bigint
): Promise<{ locked: boolean, row: MailboxRow | null }> {
  const { rows: [start] } = await lockClient.query<MailboxRow & { locked: boolean }>(
    `WITH lock AS MATERIALIZED (SELECT pg_try_advisory_lock($2) AS ok),
          started AS (UPDATE mailboxes SET last_poll_at = now() WHERE id = $1 AND (SELECT ok FROM lock) RETURNING *)
     SELECT lock.ok AS locked, started.* FROM lock LEFT JOIN started ON true`, [mailboxId, lockKey])
  return { locked: start.locked, row: start.id === null ? null : start }
}

/** The cursor as the provider's listing left it. */
export async function saveCursor (db: Queryable, mailboxId: number, cursor: unknown): Promise<void> {
  await db.query('UPDATE mailboxes SET cursor = $2 WHERE id = $1', [mailboxId, JSON.stringify(cursor)])
}

/** The cursor moved on by `next` from its stored value, in a transaction; nothing when the mailbox is gone. */
export async function updateCursor (pool: Pool, mailboxId: number, next: (cursor: unknown) => unknown): Promise<void> {
  await transaction(pool, async (client) => {
    // NO KEY UPDATE: serialises cursor updates without waiting for the batches
    // being stored meanwhile (their inbound_emails rows hold KEY SHARE on the mailbox)
    const { rows } = await client.query<{ cursor: unknown }>('SELECT cursor FROM mailboxes WHERE id = $1 FOR NO KEY UPDATE', [mailboxId])
    if (rows.length === 0) return
    await client.query('UPDATE mailboxes SET cursor = $2 WHERE id = $1', [mailboxId, JSON.stringify(next(rows[0].cursor))])
  })
}

/** Mailboxes whose next poll is due within the coming `seconds`, soonest first. */
export async function dueWithin (db: Queryable, seconds: number): Promise<Array<{ id: number, due: Date }>> {
  const { rows } = await db.query<{ id: number, due: Date }>(
    `SELECT id, next_poll_at AS due FROM mailboxes
     WHERE next_poll_at < now() + make_interval(secs => $1) ORDER BY next_poll_at`, [seconds])
  return rows
}
