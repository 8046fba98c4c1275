/**
 * When subscription work is queued, and how often a Graph mailbox is synced:
 * - after every successful sync of a Graph mailbox (webhookAwareInterval):
 *   a webhook mailbox whose subscription is live gets only a safety sync
 *   every MAILSLOT_GRAPH_RESYNC_SECONDS; otherwise it is polled; a missing or
 *   due subscription gets an ensure job (so a new mailbox subscribes after
 *   its first sync);
 * - graph-subscription-scan (cron, every minute): the same for every Graph
 *   mailbox at once (renewals, retries, mode changes), and the purge of old
 *   notification rows.
 */
import type { Mailbox } from '../../mailboxes/types.ts'
import { mailboxesNeedingSubscriptionWork, subscriptionStatus, type DueRule } from '../../mailboxes/subscription-work.ts'
import { insert, send } from '../../queue/boss.ts'
import { subscriptionKeys, type QueuePayloads } from '../../queue/queues.ts'
import type { AppContext } from '../../context.ts'
import { registerNextSyncHook } from '../../ingestion/next-sync.ts'
import { renewBeforeMs, resyncSeconds } from './timing.ts'

export const SCAN_CRON = '* * * * *'
/** Notification rows kept for audit. Default 1 day. */
const NOTIFICATION_RETENTION = '1 day'
const PURGE_BATCH = 10_000

export async function queueSubscriptionJob (ctx: AppContext, job: QueuePayloads['graph-subscription']): Promise<void> {
  await send(ctx.boss, 'graph-subscription', job, { singletonKey: subscriptionKeys.action(job.mailboxId, job.action) })
}

const dueRule = (ctx: AppContext): DueRule => ({
  renewBeforeSeconds: renewBeforeMs(ctx.settings) / 1000,
  hasPublicUrl: ctx.settings.publicUrl !== undefined
})

const isWebhook = (m: Mailbox): boolean => m.spec.provider === 'graph' && (m.spec.mode ?? 'webhook') === 'webhook'

/** Seconds until the next sync of a mailbox that just synced fine; queues subscription work when due. */
export async function webhookAwareInterval (ctx: AppContext, mailbox: Mailbox, pollSeconds: number): Promise<number> {
  if (mailbox.spec.provider !== 'graph') return pollSeconds
  const row = await subscriptionStatus(ctx.pool, mailbox.id, dueRule(ctx))
  const webhook = isWebhook(mailbox)
  if (webhook ? row === null || row.due : row !== null) await queueSubscriptionJob(ctx, { mailboxId: mailbox.id, action: 'ensure' })
  return webhook && row?.live === true ? resyncSeconds(ctx.settings) : pollSeconds
}

/** Makes every successful sync of a Graph mailbox go through webhookAwareInterval (called by the worker role at start). */
export function registerWebhookAwareInterval (): void {
  registerNextSyncHook('graph', webhookAwareInterval)
}

/** graph-subscription-scan: ensure jobs for every Graph mailbox whose subscription needs work. */
export async function scanSubscriptions (ctx: AppContext): Promise<number> {
  const ids = await mailboxesNeedingSubscriptionWork(ctx.pool, dueRule(ctx))
  if (ids.length > 0) {
    await insert(ctx.boss, 'graph-subscription', ids.map(id => ({ data: { mailboxId: id, action: 'ensure' }, singletonKey: subscriptionKeys.action(id, 'ensure') })))
  }
  await ctx.pool.query(
    `DELETE FROM graph_notifications WHERE ctid = ANY (ARRAY(
       SELECT ctid FROM graph_notifications WHERE received_at < now() - interval '${NOTIFICATION_RETENTION}' LIMIT ${PURGE_BATCH}))`)
  return ids.length
}
