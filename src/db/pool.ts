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
  return pool
}

/** Run `fn` in a transaction; rolls back on throw. */
export async function transaction<T> (pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}
