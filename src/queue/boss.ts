/** pg-boss in its own schema, with typed send, insert and work over the queue map. */
import { PgBoss, type Db, type InsertOptions, type JobInsert, type SendOptions, type WorkOptions, type Job } from 'pg-boss'
import type { Queryable } from '../db/pool.ts'
import { QUEUES, type QueueName, type QueuePayloads } from './queues.ts'
import { rememberWorker, wakeWhenDue } from './wake-when-due.ts'

export const BOSS_SCHEMA = 'mailslot_boss'

export type Boss = PgBoss

export interface BossOptions {
  schema?: string
  /** Pool size. Default 10. */
  max?: number
  /** Run maintenance and the cron scheduler. Off for short-lived CLI commands. Default true. */
  background?: boolean
}

export function createBoss (connectionString: string, opts: BossOptions = {}): PgBoss {
  const background = opts.background ?? true
  return new PgBoss({
    connectionString,
    schema: opts.schema ?? BOSS_SCHEMA,
    max: opts.max ?? 10,
    useListenNotify: background,
    supervise: background,
    schedule: background,
    // how soon a dead worker's jobs are noticed (see HEARTBEAT): the monitor
    // pass that fails them runs at the longer of these two intervals
    superviseIntervalSeconds: 5,
    monitorIntervalSeconds: 5,
    application_name: 'mailslot-boss'
  })
}

/**
 * Creates the queues and brings the options of existing ones up to date:
 * pg-boss's createQueue leaves an existing queue as it was, so a changed
 * option (a longer expiry, say) would otherwise reach new databases only.
 * A queue's policy is fixed at its creation.
 */
export async function createQueues (boss: PgBoss): Promise<void> {
  for (const [name, { policy, ...changeable }] of Object.entries(QUEUES)) {
    await boss.createQueue(name, { policy, ...changeable })
    await boss.updateQueue(name, changeable)
  }
}

/** Lets pg-boss write through the caller's connection: inside its transaction, with the row it refers to, when it has one. */
export function inTransaction (client: Queryable): Db {
  return { executeSql: async (text: string, values?: unknown[]) => await client.query(text, values as unknown[]) }
}

export async function send<Q extends QueueName> (
  boss: PgBoss, queue: Q, data: QueuePayloads[Q], options: SendOptions = {}
): Promise<string | null> {
  const id = await boss.send(queue, data as object, options)
  if (id !== null) wakeWhenDue(boss, queue, options.startAfter)
  return id
}

/** Several jobs in one round trip (send queues one). */
export async function insert<Q extends QueueName> (
  boss: PgBoss, queue: Q, jobs: Array<JobInsert<QueuePayloads[Q]>>, options: InsertOptions = {}
): Promise<string[] | null> {
  return await boss.insert(queue, jobs, options)
}

export async function work<Q extends QueueName> (
  boss: PgBoss, queue: Q, options: WorkOptions,
  handler: (jobs: Array<Job<QueuePayloads[Q]>>) => Promise<unknown>
): Promise<string> {
  const id = await boss.work<QueuePayloads[Q]>(queue, options, handler)
  rememberWorker(boss, queue, id)
  return id
}
