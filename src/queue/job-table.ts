/**
 * The one read of pg-boss's private job table. pg-boss has no "is a job with
 * this key waiting" lookup, and the Graph notification fast path must ask it
 * inside its own statement (one round trip per burst of notifications); a
 * caller falls back to a plain insert if a pg-boss upgrade ever breaks it.
 */
import { BOSS_SCHEMA } from './boss.ts'
import type { QueueName } from './queues.ts'

/**
 * A query of one row, `all_waiting`: whether every singleton key in the
 * text[] parameter `$keysParam` has a job waiting (created, not started) in
 * `queue`. To use as a CTE of the caller's statement.
 */
export function allWaitingQuery (queue: QueueName, keysParam: number): string {
  return `SELECT count(*) = cardinality($${keysParam}::text[]) AS all_waiting FROM ${BOSS_SCHEMA}.job
    WHERE name = '${queue}' AND state = 'created' AND singleton_key = ANY($${keysParam}::text[])`
}
