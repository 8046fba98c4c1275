/**
 * mailbox-controller (cron, every minute): one query finds the mailboxes due
 * within the coming minute and queues a sync for each at its due time. The
 * sync queue's policy keeps at most one waiting per mailbox, so a stopped
 * worker fleet does not come back to a backlog.
 */
import type { AppContext } from '../context.ts'

export const CONTROLLER_CRON = '* * * * *'

export async function queueDueSyncs (ctx: AppContext): Promise<number> {
  const { rows } = await ctx.pool.query<{ id: number, due: Date }>(
    `SELECT id, next_poll_at AS due FROM mailboxes
     WHERE next_poll_at < now() + interval '60 seconds' ORDER BY next_poll_at`)
  if (rows.length === 0) return 0
  const now = Date.now()
  await ctx.boss.insert('mailbox-sync', rows.map(r => ({
    data: { mailboxId: r.id, reason: 'schedule' },
    singletonKey: String(r.id),
    // spread over the minute instead of a burst at its start
    startAfter: r.due.getTime() > now ? r.due : undefined
  })))
  return rows.length
}
