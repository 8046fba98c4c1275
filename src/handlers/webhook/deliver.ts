/**
 * webhook delivery: POSTs the `email.received` event (./payload.ts)
 * as JSON, signed per Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the
 * mailbox's `whsec_<base64>` secret. The id is `msg_<email id>`, the same on
 * every retry and replay, so a receiver can drop what it already has; the
 * timestamp and signature are fresh on each try. 2xx delivered; 408/429/5xx
 * or no answer retried with backoff; any other status failed at once.
 */
import { Webhook } from 'standardwebhooks'
import type { AppContext } from '../../context.ts'
import type { Delivery } from '../../mailboxes/types.ts'
import type { RoutingResult } from '../../routing/route.ts'
import type { ParsedEmail } from '../../parsing/types.ts'
import { postDelivery } from '../http/post.ts'
import { deliveryReach } from '../../shared/address-policy.ts'
import { emailReceivedEvent, rawUrlFor } from './payload.ts'
import type { Outcome } from '../../inbound/lifecycle.ts'
import type { StoredEmail } from '../types.ts'

/** The stable Standard Webhooks message id of an email. */
export function webhookId (emailId: number): string {
  return `msg_${emailId}`
}

/** The three Standard Webhooks headers for `body`; a permanent Error when the secret is not `whsec_<base64>`. */
export function webhookHeaders (secret: string, id: string, body: string, now = new Date()): Record<string, string> {
  let signer: Webhook
  try {
    signer = new Webhook(secret)
  } catch {
    throw new Error('the webhook secret is not a valid whsec_<base64> secret')
  }
  return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signer.sign(id, now, body) }
}

export async function deliverToWebhook (
  ctx: Pick<AppContext, 'settings'>, email: StoredEmail, parsed: ParsedEmail, routing: RoutingResult,
  delivery: Extract<Delivery, { kind: 'webhook' }>
): Promise<Outcome> {
  const body = JSON.stringify(emailReceivedEvent(email, parsed, routing, rawUrlFor(ctx.settings, email.id)))
  const id = webhookId(email.id)
  const answer = await postDelivery({
    what: 'the webhook endpoint',
    url: delivery.url,
    headers: { 'content-type': 'application/json', ...webhookHeaders(delivery.secret, id, body) },
    body,
    reach: deliveryReach('webhook', ctx.settings.webhookAllowPrivate),
    timeoutMs: ctx.settings.deliveryTimeoutMs
  })
  return { status: 'delivered', handler: 'webhook', result: { status: answer.status, webhookId: id } }
}
