/**
 * The JSON a webhook delivery POSTs: event `email.received`, version 1
 * (documented in ./README.md). A new field may be added within a version; a
 * field is never renamed, retyped or removed without a new version.
 */
import type { Settings } from '../../config/settings.ts'
import { bodyText, replyBody } from '../../parsing/body.ts'
import type { RoutingResult } from '../../routing/route.ts'
import type { MailAddress, ParsedEmail } from '../../parsing/types.ts'
import type { StoredEmail } from '../types.ts'

export const EVENT_TYPE = 'email.received'
export const PAYLOAD_VERSION = 1
/** The body text is cut here (characters); the whole email stays behind `rawUrl`. */
export const MAX_TEXT_CHARS = 1_000_000

export interface EmailReceivedEvent {
  type: typeof EVENT_TYPE
  version: typeof PAYLOAD_VERSION
  email: {
    id: number
    mailbox: string
    messageId: string
    inReplyTo: string | null
    references: string[]
    from: MailAddress | null
    to: MailAddress[]
    cc: MailAddress[]
    subject: string
    date: string | null
    size: number
    text: string
    replyText: string
    textTruncated: boolean
    attachments: Array<{ filename: string | null, contentType: string, size: number, inline: boolean }>
  }
  routing: RoutingResult
  rawUrl: string
}

export function emailReceivedEvent (email: StoredEmail, parsed: ParsedEmail, routing: RoutingResult, rawUrl: string): EmailReceivedEvent {
  const text = bodyText(parsed)
  return {
    type: EVENT_TYPE,
    version: PAYLOAD_VERSION,
    email: {
      id: email.id,
      mailbox: email.mailboxName,
      messageId: parsed.messageId,
      inReplyTo: parsed.inReplyTo,
      references: parsed.references,
      from: parsed.from,
      to: parsed.to,
      cc: parsed.cc,
      subject: parsed.subject,
      date: parsed.date,
      size: email.raw.length,
      text: text.slice(0, MAX_TEXT_CHARS),
      replyText: replyBody(parsed).slice(0, MAX_TEXT_CHARS),
      textTruncated: text.length > MAX_TEXT_CHARS,
      attachments: parsed.attachments.map(a => ({ filename: a.filename, contentType: a.contentType, size: a.size, inline: a.inline }))
    },
    routing,
    rawUrl
  }
}

/** The absolute link to GET /api/v1/emails/:id/raw: MAILSLOT_PUBLIC_URL, else this process's own listen address. */
export function rawUrlFor (settings: Pick<Settings, 'publicUrl' | 'host' | 'port'>, id: number): string {
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host
  const base = settings.publicUrl ?? `http://${host}:${settings.port}`
  return `${base}/api/v1/emails/${id}/raw`
}
