/** Row counts the tests read back from a runtime's database. */
import type { TestRuntime } from './runtime.ts'

/** The `n` of a `SELECT count(*)::int AS n …`. */
export async function countRows (rt: TestRuntime, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await rt.ctx.pool.query<{ n: number }>(sql, params)
  return rows[0].n
}

/** Emails of the mailbox in an end state. */
export async function finishedCount (rt: TestRuntime, mailbox: string): Promise<number> {
  return await countRows(rt, `SELECT count(*)::int AS n FROM inbound_emails WHERE mailbox_name = $1 AND status IN ('delivered', 'rejected', 'failed')`, [mailbox])
}
