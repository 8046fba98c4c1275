/** What a sync reads and writes on its mailbox's row (start, cursor), and which mailboxes are due one. */
import { transaction, type Pool, type Queryable } from '../db/pool.ts'
import { lockKeySql } from '../db/locks.ts'
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

/**
 * Claims up to `limit` mailboxes whose poll is due, for the poller: takes
 * each one's sync lock on `lockClient` (lockKey('sync', id); a mailbox another
 * sync holds is left for later), records its poll start and moves its next
 * poll `leaseSeconds` on, so that no poller claims it again before this poll
 * records its outcome (or, should the process die, until then). One
 * statement; `nextDue` is when the soonest mailbox not claimed is due.
 */
export async function claimDuePolls (
  lockClient: Queryable, limit: number, leaseSeconds: number
): Promise<{ rows: MailboxRow[], nextDue: Date | null }> {
  const { rows } = await lockClient.query<MailboxRow & { nextDue: Date | null }>(
    `WITH due AS MATERIALIZED (
       SELECT id FROM mailboxes WHERE next_poll_at <= now() ORDER BY next_poll_at LIMIT $1 FOR NO KEY UPDATE SKIP LOCKED),
     locked AS MATERIALIZED (SELECT id FROM due WHERE pg_try_advisory_lock(${lockKeySql('sync', 'due.id')})),
     started AS (UPDATE mailboxes m SET last_poll_at = now(), next_poll_at = now() + make_interval(secs => $2)
       FROM locked WHERE m.id = locked.id RETURNING m.*)
     SELECT started.*, soonest.due AS "nextDue"
     FROM (SELECT min(next_poll_at) AS due FROM mailboxes WHERE next_poll_at > now()) soonest LEFT JOIN started ON true`,
    [limit, leaseSeconds])
  const nextDue = rows[0].nextDue
  return { rows: rows.filter(r => r.id !== null).map(({ nextDue: _, ...row }) => row), nextDue }
}
