/**
 * operator-event: POSTs one queued event to MAILSLOT_EVENTS_URL, signed as
 * the `webhook` delivery signs (src/handlers/webhook/), sent by the same
 * transport under the same outbound policy (webhook targets: public only
 * unless MAILSLOT_WEBHOOK_ALLOW_PRIVATE=true). The `webhook-id` is
 * `msg_<job id>`: the same on every try. 2xx: delivered; anything else
 * (no answer, any other status, a refused address) fails the try, and
 * pg-boss tries again with backoff (src/queue/queues.ts). Its own workers
 * and no database connection of the pool: a dead or slow endpoint holds
 * back other events only, never a sync or an email.
 */
import type { Job } from 'pg-boss'
import type { AppContext } from '../context.ts'
import type { Settings } from '../config/settings.ts'
import { postDelivery } from '../handlers/http/post.ts'
import { webhookHeaders } from '../handlers/webhook/deliver.ts'
import { deliveryReach } from '../shared/address-policy.ts'
import { bareError } from '../shared/errors.ts'
import type { OperatorEvent } from './types.ts'

/** Where events go: MAILSLOT_EVENTS_URL and MAILSLOT_EVENTS_SECRET. */
export type EventsTarget = NonNullable<Settings['events']>

export async function deliverEvent (
  ctx: Pick<AppContext, 'settings' | 'log' | 'metrics'>, events: EventsTarget, job: Job<OperatorEvent>
): Promise<void> {
  const body = JSON.stringify(job.data)
  const id = `msg_${job.id}`
  try {
    await postDelivery({
      what: 'the events endpoint',
      url: events.url,
      headers: { 'content-type': 'application/json', ...webhookHeaders(events.secret, id, body) },
      body,
      reach: deliveryReach('webhook', ctx.settings.webhookAllowPrivate),
      timeoutMs: ctx.settings.deliveryTimeoutMs
    })
  } catch (err) {
    ctx.metrics.events.inc({ result: 'failed' })
    ctx.log.warn({ event: job.data.type, webhookId: id, err: bareError(err) }, 'operator event not delivered: tried again later')
    throw err
  }
  ctx.metrics.events.inc({ result: 'delivered' })
}
