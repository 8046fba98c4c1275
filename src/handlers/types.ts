/**
 * What a handler or delivery reports for one email. Handlers never talk to a
 * provider; they get the stored email and its parse.
 */
import type { RejectionReason } from '../inbound/lifecycle.ts'
import type { Mailbox } from '../mailboxes/types.ts'
import type { ParsedEmail } from '../routing/types.ts'
import type { AppContext } from '../runtime/context.ts'

export type HandlerKind = 'create_issue' | 'service_desk' | 'create_note' | 'unsubscribe' | 'gitlab' | 'webhook'

export type Outcome =
  | { status: 'delivered', handler: HandlerKind, result: Record<string, unknown> }
  | { status: 'rejected', reason: RejectionReason, detail?: string, handler?: HandlerKind }

/** Thrown for a failure worth retrying (a delivery endpoint down, a 5xx). */
export class RetryableError extends Error {
  constructor (message: string) { super(message); this.name = 'RetryableError' }
}

export interface StoredEmail {
  id: number
  mailboxId: number | null
  mailboxName: string
  raw: Buffer
}

export type Dispatch = (ctx: AppContext, email: StoredEmail, parsed: ParsedEmail, mailbox: Mailbox) => Promise<Outcome>
