/**
 * Hands a parsed email to its mailbox's outside delivery (the built-in
 * store's emails are handled a batch at a time: builtin/index.ts):
 * - gitlab:  POST the raw email to GitLab's internal mail_room API (GitLab routes);
 * - webhook: route, then POST a signed JSON event.
 * Machine mail (loops, bounces, auto-replies) is rejected here for webhook
 * (and by the built-in handler); the gitlab delivery forwards everything, as mail_room does,
 * and GitLab decides (it handles bounces and auto-replies itself).
 */
import { routeFor } from './route-for.ts'
import { MACHINE_MAIL } from '../routing/route.ts'
import { deliverToGitlab } from './gitlab/deliver.ts'
import { deliverToWebhook } from './webhook/deliver.ts'
import type { Dispatch } from './types.ts'

export const dispatch: Dispatch = async (ctx, email, parsed, mailbox) => {
  const delivery = mailbox.spec.delivery ?? { kind: 'builtin' }
  if (delivery.kind === 'gitlab') return await deliverToGitlab(ctx, email, delivery)
  if (delivery.kind === 'webhook') {
    const routing = routeFor(parsed, mailbox)
    if (routing.outcome === 'reject' && MACHINE_MAIL.has(routing.reason)) return { status: 'rejected', reason: routing.reason, detail: routing.detail }
    return await deliverToWebhook(ctx, email, parsed, routing, delivery)
  }
  throw new Error(`the ${delivery.kind} delivery is not an outside one: its emails go to handleBuiltinBatch`)
}
