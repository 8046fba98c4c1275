/**
 * Queue a sync of one mailbox now (manual poll, notification). Its singleton
 * key differs from the scheduled syncs' so that a scheduled sync waiting for
 * its time never delays it; the stately queue keeps one waiting per key.
 */
import type { Boss } from '../queue/boss.ts'
import { send } from '../queue/boss.ts'
import { syncKeys, type QueuePayloads } from '../queue/queues.ts'

export async function requestSync (ctx: { boss: Boss }, mailboxId: number, reason: QueuePayloads['mailbox-sync']['reason']): Promise<boolean> {
  const id = await send(ctx.boss, 'mailbox-sync', { mailboxId, reason }, { singletonKey: syncKeys.now(mailboxId) })
  // null: a sync for this mailbox is already waiting, which will see the same mail
  return id !== null
}
