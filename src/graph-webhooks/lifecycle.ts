/**
 * Lifecycle notifications: verified like change notifications, then turned
 * into jobs in one transaction (the reaction itself runs in the job):
 * - reauthorizationRequired → graph-subscription reauthorize;
 * - subscriptionRemoved → row marked removed, graph-subscription recreate
 *   (which resyncs once the new one exists) and a resync now;
 * - missed → a resync (delta) of the mailbox.
 */
import { transaction } from '../db/pool.ts'
import { inTransaction, send } from '../queue/boss.ts'
import { subscriptionKeys, syncKeys } from '../queue/queues.ts'
import type { AppContext } from '../context.ts'
import type { KnownSubscriptions, NotificationItem } from './known-subscriptions.ts'
import { markRemoved } from './subscriptions/repository.ts'

export async function acceptLifecycle (ctx: AppContext, known: KnownSubscriptions, items: NotificationItem[]): Promise<void> {
  const verdicts = await known.verify(items)
  for (const v of verdicts) ctx.metrics.notifications.inc({ result: `lifecycle_${v.verdict}` })
  const accepted = items.flatMap((item, i) => {
    const mailboxId = verdicts[i].mailboxId
    return mailboxId === undefined ? [] : [{ mailboxId, subscriptionId: item.subscriptionId as string, event: String(item.lifecycleEvent) }]
  })
  if (accepted.length === 0) return
  await transaction(ctx.pool, async (client) => {
    const db = inTransaction(client)
    for (const { mailboxId, subscriptionId, event } of accepted) {
      ctx.log.info({ mailboxId, subscriptionId, event }, 'graph lifecycle notification')
      const resync = async (): Promise<void> => {
        await send(ctx.boss, 'mailbox-sync', { mailboxId, reason: 'resync' }, { singletonKey: syncKeys.now(mailboxId), db })
      }
      if (event === 'missed') {
        await resync()
      } else if (event === 'reauthorizationRequired') {
        await send(ctx.boss, 'graph-subscription', { mailboxId, action: 'reauthorize', subscriptionId }, { singletonKey: subscriptionKeys.action(mailboxId, 'reauthorize'), db })
      } else if (event === 'subscriptionRemoved') {
        await markRemoved(client, subscriptionId)
        await send(ctx.boss, 'graph-subscription', { mailboxId, action: 'recreate', subscriptionId }, { singletonKey: subscriptionKeys.action(mailboxId, 'recreate'), db })
        await resync()
      }
    }
  })
}
