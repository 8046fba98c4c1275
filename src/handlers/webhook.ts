/** webhook delivery: see the deliveries work item. */
import type { AppContext } from '../runtime/context.ts'
import type { Delivery } from '../mailboxes/types.ts'
import type { RoutingResult } from '../routing/route.ts'
import type { ParsedEmail } from '../routing/types.ts'
import type { Outcome, StoredEmail } from './types.ts'

export async function deliverToWebhook (_ctx: AppContext, _email: StoredEmail, _parsed: ParsedEmail, _routing: RoutingResult, _delivery: Extract<Delivery, { kind: 'webhook' }>): Promise<Outcome> {
  throw new Error('webhook delivery is not implemented yet')
}
