/**
 * What is kept of a parse in inbound_emails.parsed: what routing and people
 * need, not the body. A header the email does not have is left out (no
 * nulls, no empty lists): every end state writes this document, so a
 * smaller one makes the UPDATE cheaper and leaves more room on the page for
 * updates in place.
 */
import type { ParsedEmail } from '../parsing/types.ts'

const says = (value: unknown): boolean => value !== null && !(Array.isArray(value) && value.length === 0)

/** The entries that say something: not null, not an empty list. */
function present (entries: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => says(value)))
}

export function parsedSummary (p: ParsedEmail): Record<string, unknown> {
  const delivery = present(p.delivery)
  return present({
    messageId: p.messageId,
    inReplyTo: p.inReplyTo,
    references: p.references,
    from: p.from,
    replyTo: p.replyTo,
    sender: p.sender,
    to: p.to,
    cc: p.cc,
    subject: p.subject,
    date: p.date,
    delivery: Object.keys(delivery).length > 0 ? delivery : null,
    autoSubmitted: p.autoSubmitted,
    xAutoreply: p.xAutoreply,
    precedence: p.precedence,
    sizes: p.sizes,
    attachmentCount: p.attachments.length
  })
}
