/** One pg Pool per process, plus a transaction helper. */
import pg from 'pg'

export type Pool = pg.Pool
export type PoolClient = pg.PoolClient
/** Anything that runs a query: the pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>

// bigint columns (ids, sizes) come back as strings by default; ours fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v))

export function createPool (connectionString: string, max = 10): Pool {
  const pool = new pg.Pool({ connectionString, max, application_name: 'mailslot' })
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => {})
  // Nor a checked-out one (a lock held through an IMAP session): pg-pool
  // listens only while a client is idle; the holder sees the error on its next query.
  pool.on('connect', client => { client.on('error', () => {}) })
  return pool
}

/**
 * Gives a checked-out client back; after `err` (its last statement failed) it
 * is destroyed rather than reused, and the session locks it held go with it.
 */
export function releaseClient (client: PoolClient, err?: unknown): void {
  client.release(err === undefined ? undefined : err instanceof Error ? err : new Error(String(err)))
}

/** Run `fn` in a transaction; rolls back on throw. */
export async function transaction<T> (pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let broken: unknown
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    await client.query('ROLLBACK').catch((e: unknown) => { broken = e })
    throw err
  } finally {
    releaseClient(client, broken)
  }
}
