/**
 * gitlab delivery: a drop-in for mail_room's postback. POSTs the raw email,
 * byte for byte, to GitLab's `/api/v4/internal/mail_room/<mailboxType>` with
 * `Content-Type: text/plain` and the `Gitlab-Mailroom-Api-Request` JWT, and,
 * unlike mail_room, reads the answer: 2xx delivered, 408/429/5xx/no answer
 * retried with backoff, any other status (401 wrong secret, 400 too large…)
 * failed at once. GitLab routes the email itself, so nothing is routed here.
 */
import type { AppContext } from '../../context.ts'
import type { Delivery } from '../../mailboxes/types.ts'
import { gitlabSecret } from './secret.ts'
import { MAILROOM_HEADER, mailroomToken, mailroomUrl } from './jwt.ts'
import { postDelivery } from '../http/post.ts'
import { deliveryReach } from '../../shared/address-policy.ts'
import type { Outcome } from '../../inbound/lifecycle.ts'
import type { StoredEmail } from '../types.ts'

export async function deliverToGitlab (
  ctx: Pick<AppContext, 'settings'>, email: StoredEmail, delivery: Extract<Delivery, { kind: 'gitlab' }>
): Promise<Outcome> {
  const secret = await gitlabSecret(delivery.secretFile)
  const answer = await postDelivery({
    what: 'GitLab',
    url: mailroomUrl(delivery.url, delivery.mailboxType),
    headers: { 'content-type': 'text/plain', [MAILROOM_HEADER]: mailroomToken(secret) },
    body: email.raw,
    reach: deliveryReach('gitlab', false),
    timeoutMs: ctx.settings.deliveryTimeoutMs
  })
  return { status: 'delivered', handler: 'gitlab', result: { status: answer.status, mailboxType: delivery.mailboxType } }
}
