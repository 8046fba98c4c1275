/**
 * mailbox-controller (cron, every minute): one query finds the mailboxes due
 * within the coming minute and queues a sync for each at its due time. The
 * sync queue's policy keeps at most one waiting per mailbox, so a stopped
 * worker fleet does not come back to a backlog.
 */
import type { AppContext } from '../context.ts'
import { dueWithinAMinute } from '../mailboxes/sync-state.ts'
import { insert } from '../queue/boss.ts'
import { syncKeys } from '../queue/queues.ts'

export const CONTROLLER_CRON = '* * * * *'

export async function queueDueSyncs (ctx: AppContext): Promise<number> {
  const rows = await dueWithinAMinute(ctx.pool)
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
