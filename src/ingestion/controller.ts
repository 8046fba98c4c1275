/**
 * mailbox-controller (cron, every minute): one query finds the mailboxes due
 * within the coming minute and queues a sync for each at its due time. The
 * sync queue's policy keeps at most one waiting per mailbox, so a stopped
 * worker fleet does not come back to a backlog. A mailbox polled more often
 * than once a minute has its next sync queued by the sync that just ended.
 */
import type { AppContext } from '../context.ts'
import { dueWithin } from '../mailboxes/sync-state.ts'
import { insert, send } from '../queue/boss.ts'
import { syncKeys } from '../queue/queues.ts'

export const CONTROLLER_CRON = '* * * * *'
/** How far ahead each controller run looks: its cron's period. */
export const CONTROLLER_PERIOD_SECONDS = 60

export async function queueDueSyncs (ctx: AppContext): Promise<number> {
  const rows = await dueWithin(ctx.pool, CONTROLLER_PERIOD_SECONDS)
  if (rows.length === 0) return 0
  const now = Date.now()
  await insert(ctx.boss, 'mailbox-sync', rows.map(r => ({
    data: { mailboxId: r.id, reason: 'schedule' },
    singletonKey: syncKeys.scheduled(r.id),
    // spread over the minute instead of a burst at its start
    startAfter: r.due.getTime() > now ? r.due : undefined
  })))
  return rows.length
}

/**
 * After a successful sync: a mailbox due again before the controller's next
 * run gets that sync queued now, under the controller's own key, so that
 * both never queue it twice and its interval is honoured.
 */
export async function queueNextSyncIfSooner (ctx: AppContext, mailboxId: number, nextPollSeconds: number): Promise<void> {
  if (nextPollSeconds >= CONTROLLER_PERIOD_SECONDS) return
  await send(ctx.boss, 'mailbox-sync', { mailboxId, reason: 'schedule' },
    { singletonKey: syncKeys.scheduled(mailboxId), startAfter: nextPollSeconds })
}
