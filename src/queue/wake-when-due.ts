/**
 * Starts a job queued for later on time. pg-boss wakes idle workers through
 * NOTIFY when a job is queued for now; one queued for later (a retry's
 * backoff, a sync asked again) waits for an idle worker's next look, every
 * few seconds (src/runtime/workers.ts), so 0.4 s and 1.6 s backoffs would
 * both start about 5 s late. When this process queues such a job, a timer
 * wakes its own worker of that queue when the job is due. Another process's
 * workers, or this one's after a restart, still find it at their next look.
 */
import type { PgBoss, SendOptions } from 'pg-boss'

/** Waits longer than this are left to the workers' looks: a few seconds late is a small part of them, and a timer each would pile up. */
const LONGEST_TIMED_WAIT_MS = 5 * 60_000
/** After the due time, so that the worker's look finds the job due by the database's clock. */
const SLACK_MS = 25

const workerIds = new WeakMap<PgBoss, Map<string, string>>()

/** Notes the worker `work` started for `queue` in this process: the one a timer wakes. */
export function rememberWorker (boss: PgBoss, queue: string, workerId: string): void {
  let ids = workerIds.get(boss)
  if (ids === undefined) workerIds.set(boss, ids = new Map())
  ids.set(queue, workerId)
}

/** Milliseconds until a job sent with `startAfter` is due, or undefined when it is due now or is given as text. */
export function dueInMs (startAfter: SendOptions['startAfter'], now = Date.now()): number | undefined {
  const ms = typeof startAfter === 'number' ? startAfter * 1000 : startAfter instanceof Date ? startAfter.getTime() - now : undefined
  return ms !== undefined && ms > 0 ? ms : undefined
}

/** Wakes this process's worker of `queue` when a job queued with `startAfter` is due. */
export function wakeWhenDue (boss: PgBoss, queue: string, startAfter: SendOptions['startAfter']): void {
  const workerId = workerIds.get(boss)?.get(queue)
  const ms = dueInMs(startAfter)
  if (workerId === undefined || ms === undefined || ms > LONGEST_TIMED_WAIT_MS) return
  // a stopped worker is no longer known to pg-boss, which then wakes nothing
  setTimeout(() => { boss.notifyWorker(workerId) }, ms + SLACK_MS).unref()
}
