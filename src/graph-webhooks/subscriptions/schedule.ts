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
import { send } from '../../queue/boss.ts'
import type { QueuePayloads } from '../../queue/queues.ts'
import type { AppContext } from '../../context.ts'
import { renewBeforeMs, resyncSeconds } from './timing.ts'

export const SCAN_CRON = '* * * * *'
/** Notification rows kept for audit. Default 1 day. */
const NOTIFICATION_RETENTION = '1 day'
const PURGE_BATCH = 10_000

/** Does a subscription row need work? ($1 = renew-before seconds, $2 = this process has a public URL) */
const DUE = `(s.state = 'active' AND s.expires_at < now() + make_interval(secs => $1) AND s.next_attempt_at <= now())
  OR (s.state IN ('failed', 'removed') AND s.next_attempt_at <= now())
  OR (s.state = 'unavailable' AND $2)`

export async function queueSubscriptionJob (ctx: AppContext, job: QueuePayloads['graph-subscription']): Promise<void> {
  await send(ctx.boss, 'graph-subscription', job, { singletonKey: `${job.mailboxId}:${job.action}` })
}

const isWebhook = (m: Mailbox): boolean => m.spec.provider === 'graph' && (m.spec.mode ?? 'webhook') === 'webhook'

/** Seconds until the next sync of a mailbox that just synced fine; queues subscription work when due. */
export async function webhookAwareInterval (ctx: AppContext, mailbox: Mailbox, pollSeconds: number): Promise<number> {
  if (mailbox.spec.provider !== 'graph') return pollSeconds
  const { rows } = await ctx.pool.query<{ live: boolean, due: boolean }>(
    `SELECT s.state = 'active' AND s.expires_at > now() AS live, ${DUE} AS due
     FROM graph_subscriptions s WHERE s.mailbox_id = $3`,
    [renewBeforeMs(ctx.settings) / 1000, ctx.settings.publicUrl !== undefined, mailbox.id])
  const row = rows[0]
  const webhook = isWebhook(mailbox)
  if (webhook ? row === undefined || row.due : row !== undefined) await queueSubscriptionJob(ctx, { mailboxId: mailbox.id, action: 'ensure' })
  return webhook && row?.live === true ? resyncSeconds(ctx.settings) : pollSeconds
}

/** graph-subscription-scan: ensure jobs for every Graph mailbox whose subscription needs work. */
export async function scanSubscriptions (ctx: AppContext): Promise<number> {
  const { rows } = await ctx.pool.query<{ id: number }>(
    `SELECT m.id FROM mailboxes m LEFT JOIN graph_subscriptions s ON s.mailbox_id = m.id
     WHERE m.provider = 'graph' AND CASE WHEN coalesce(m.config->>'mode', 'webhook') = 'webhook'
       THEN s.mailbox_id IS NULL OR ${DUE}
       ELSE s.mailbox_id IS NOT NULL END`,
    [renewBeforeMs(ctx.settings) / 1000, ctx.settings.publicUrl !== undefined])
  if (rows.length > 0) {
    await ctx.boss.insert('graph-subscription', rows.map(r => ({ data: { mailboxId: r.id, action: 'ensure' }, singletonKey: `${r.id}:ensure` })))
  }
  await ctx.pool.query(
    `DELETE FROM graph_notifications WHERE ctid = ANY (ARRAY(
       SELECT ctid FROM graph_notifications WHERE received_at < now() - interval '${NOTIFICATION_RETENTION}' LIMIT ${PURGE_BATCH}))`)
  return rows.length
}
