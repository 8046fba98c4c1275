/** What is kept of a parse in inbound_emails.parsed: what routing and people need, not the body. */
import type { ParsedEmail } from '../routing/types.ts'

export function parsedSummary (p: ParsedEmail): Record<string, unknown> {
  return {
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
    delivery: p.delivery,
    autoSubmitted: p.autoSubmitted,
    xAutoreply: p.xAutoreply,
    precedence: p.precedence,
    sizes: p.sizes,
    attachmentCount: p.attachments.length
  }
}
