/** Hands a parsed email to its mailbox's delivery. */
import type { Dispatch } from './types.ts'

export const dispatch: Dispatch = async (_ctx, email, parsed, mailbox) => {
  return { status: 'delivered', handler: 'webhook', result: { stored: email.id, subject: parsed.subject, mailbox: mailbox.spec.name } }
}
