/**
 * Keys of the session advisory locks that serialise work per row: one per
 * namespace and id, so that two kinds of work on one mailbox never share a
 * lock. The migrator's lock is a constant of its own (src/db/migrate.ts).
 */
import { createHash } from 'node:crypto'
import type { Queryable } from './pool.ts'

/** What a lock serialises: a mailbox's syncs, or the work on its Graph subscription. */
export type LockNamespace = 'sync' | 'graph-subscription'

/** The 64-bit key of a lock: the first 8 bytes of sha256(`mailslot:<namespace>:<id>`). */
export function lockKey (namespace: LockNamespace, id: number): bigint {
  return createHash('sha256').update(`mailslot:${namespace}:${id}`).digest().readBigInt64BE(0)
}

/** Lets go of a session lock taken on this connection. */
export async function unlock (db: Queryable, key: bigint): Promise<void> {
  await db.query('SELECT pg_advisory_unlock($1)', [key])
}

/**
 * lockKey computed by the server, for the id the SQL expression `idSql`
 * yields: a statement that locks or unlocks the rows it picks. The same key
 * as lockKey's (test/db/locks.test.ts).
 */
export function lockKeySql (namespace: LockNamespace, idSql: string): string {
  return `('x' || left(encode(sha256(convert_to('mailslot:${namespace}:' || (${idSql})::text, 'UTF8')), 'hex'), 16))::bit(64)::bigint`
}
