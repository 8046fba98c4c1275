/**
 * Two ways to have a mailbox read now. A mailbox just made (or made due now,
 * a reconnect) wakes the pollers (src/ingestion/poller.ts), which claim it as
 * any due mailbox: one path for its first poll, never two syncs racing.
 * A manual poll, a notification or an IDLE announcement queues a sync: its singleton
 * key differs from the scheduled syncs' so that a scheduled sync waiting for
 * its time never delays it; the stately queue keeps one waiting per key.
 */
import type { Queryable } from '../db/pool.ts'
import type { Boss } from '../queue/boss.ts'
import { send } from '../queue/boss.ts'
import { syncKeys, type QueuePayloads } from '../queue/queues.ts'

export async function requestSync (ctx: { boss: Boss }, mailboxId: number, reason: QueuePayloads['mailbox-sync']['reason']): Promise<boolean> {
  const id = await send(ctx.boss, 'mailbox-sync', { mailboxId, reason }, { singletonKey: syncKeys.now(mailboxId) })
  // null: a sync for this mailbox is already waiting, which will see the same mail
  return id !== null
}

/** The channel the pollers LISTEN on. */
export const POLL_CHANNEL = 'mailslot_poll'

/** Wakes every poller to claim what is due now (sent at the commit, in a transaction). */
export async function wakePollers (db: Queryable): Promise<void> {
  await db.query(`SELECT pg_notify('${POLL_CHANNEL}', '')`)
}
