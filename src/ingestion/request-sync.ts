/** Queue a sync of one mailbox, at most one waiting per mailbox (stately queue, singletonKey). */
import type { Boss } from '../queue/boss.ts'
import { send } from '../queue/boss.ts'
import type { QueuePayloads } from '../queue/queues.ts'

export async function requestSync (ctx: { boss: Boss }, mailboxId: number, reason: QueuePayloads['mailbox-sync']['reason']): Promise<boolean> {
  const id = await send(ctx.boss, 'mailbox-sync', { mailboxId, reason }, { singletonKey: String(mailboxId) })
  // null: a sync for this mailbox is already waiting, which will see the same mail
  return id !== null
}
