/** The built-in handler: see src/handlers/builtin/README. */
import type { AppContext } from '../../runtime/context.ts'
import type { Mailbox } from '../../mailboxes/types.ts'
import type { ParsedEmail } from '../../routing/types.ts'
import { routeFor } from '../dispatch.ts'
import type { Outcome, StoredEmail } from '../types.ts'

export async function handleBuiltin (_ctx: AppContext, _email: StoredEmail, parsed: ParsedEmail, mailbox: Mailbox): Promise<Outcome> {
  const routing = routeFor(parsed, mailbox)
  if (routing.outcome === 'reject') return { status: 'rejected', reason: routing.reason, detail: routing.detail }
  return { status: 'delivered', handler: 'create_issue', result: { key: routing.key } }
}
