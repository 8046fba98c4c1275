/** gitlab delivery: see the deliveries work item. */
import type { AppContext } from '../runtime/context.ts'
import type { Delivery } from '../mailboxes/types.ts'
import type { Outcome, StoredEmail } from './types.ts'

export async function deliverToGitlab (_ctx: AppContext, _email: StoredEmail, _delivery: Extract<Delivery, { kind: 'gitlab' }>): Promise<Outcome> {
  throw new Error('gitlab delivery is not implemented yet')
}
