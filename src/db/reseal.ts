/**
 * Re-encrypts one sealed column under the keyring's first key while other
 * processes may write it: each row is replaced only if it still holds the
 * ciphertext read (compare-and-set), else it is read again.
 */
import type { Queryable } from './pool.ts'
import { UndecryptableError, type Keyring } from '../shared/crypto.ts'

export interface SealedColumn {
  table: string
  id: string
  column: string
  /** The row's value under the first key; null when it already is (throws when no key opens it). */
  reseal: (keyring: Keyring, sealed: Buffer) => Buffer | null
}

export interface ResealCount {
  /** `table.column`. */
  name: string
  rotated: number
  current: number
  /** Ids of the rows no key opens: the old key must stay until they are fixed. */
  undecryptable: Array<string | number>
  /** Ids of rows rewritten with an old key each time they were read (a process still running without the new key). */
  changing: Array<string | number>
}

const ATTEMPTS = 5

export async function resealColumn (db: Queryable, keyring: Keyring, c: SealedColumn): Promise<ResealCount> {
  const count: ResealCount = { name: `${c.table}.${c.column}`, rotated: 0, current: 0, undecryptable: [], changing: [] }
  const { rows } = await db.query<{ id: string | number, sealed: Buffer }>(
    `SELECT ${c.id} AS id, ${c.column} AS sealed FROM ${c.table} WHERE ${c.column} IS NOT NULL ORDER BY ${c.id}`)
  for (const row of rows) {
    let sealed: Buffer | null = row.sealed
    for (let attempt = 0; sealed !== null; attempt++) {
      if (attempt === ATTEMPTS) { count.changing.push(row.id); break }
      let next: Buffer | null
      try {
        next = c.reseal(keyring, sealed)
      } catch (err) {
        if (!(err instanceof UndecryptableError)) throw err
        count.undecryptable.push(row.id)
        break
      }
      if (next === null) { count.current++; break }
      const { rowCount } = await db.query(`UPDATE ${c.table} SET ${c.column} = $2 WHERE ${c.id} = $1 AND ${c.column} = $3`, [row.id, next, sealed])
      if (rowCount === 1) { count.rotated++; break }
      // written meanwhile (or deleted): look again
      const again = await db.query<{ sealed: Buffer | null }>(`SELECT ${c.column} AS sealed FROM ${c.table} WHERE ${c.id} = $1`, [row.id])
      sealed = again.rows[0]?.sealed ?? null
    }
  }
  return count
}
