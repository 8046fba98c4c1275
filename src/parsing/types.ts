// Shapes shared by the routing layer. Everything here is plain data: a
// ParsedEmail can be handed to a handler, stored as JSON (attachment content
// aside) or compared in a test without carrying a parser object around.

export interface MailAddress {
  /** addr-spec as written (case kept); '' never appears: address-less entries are dropped. */
  address: string
  /** Decoded display name, '' when there is none. */
  name: string
}

export interface ParsedAttachment {
  filename: string | null
  contentType: string
  size: number
  content: Buffer
  contentId: string | null
  /** Content-Disposition said inline, or an embedded image (Content-ID inside multipart/related). */
  inline: boolean
  /** An S/MIME or PGP signature part: never worth uploading as a file. */
  isSignature: boolean
  /** Larger than the parse's maxAttachmentBytes: `content` is empty, `size` is the real size. */
  contentOmitted: boolean
}

/**
 * The envelope-ish headers a relay may add with the original recipient.
 * Each list holds the raw (unfolded, trimmed) value of every occurrence, in
 * header order; receivedFor holds the `for <addr>` address of each Received.
 */
export interface DeliveryHeaders {
  deliveredTo: string[]
  xDeliveredTo: string[]
  envelopeTo: string[]
  xEnvelopeTo: string[]
  receivedFor: string[]
  xOriginalTo: string[]
  xForwardedTo: string[]
}

export interface ParsedEmail {
  /** With angle brackets. Synthesised as `<sha256@mailslot>` when absent. */
  messageId: string
  messageIdSynthesized: boolean
  /** With angle brackets, or null. */
  inReplyTo: string | null
  /** Every `<id>` found in References, in order, with angle brackets. */
  references: string[]
  from: MailAddress | null
  replyTo: MailAddress[]
  sender: MailAddress | null
  to: MailAddress[]
  cc: MailAddress[]
  subject: string
  /** ISO 8601, or null when the Date header is missing or unreadable. */
  date: string | null
  delivery: DeliveryHeaders
  /** Raw values of the auto-reply markers, null when absent. */
  autoSubmitted: string | null
  xAutoreply: string | null
  precedence: string | null
  /** Every top-level header, lower-case name and unfolded raw value, in order. */
  headers: Array<{ name: string, value: string }>
  text: string | null
  html: string | null
  attachments: ParsedAttachment[]
  /** sha256 (hex) of the raw bytes exactly as received. */
  checksum: string
  sizes: { raw: number, text: number, html: number, attachments: number }
}

/** `too_complex`: the email is past one of the MIME parser's limits (header size, number of parts). */
export type ParseRejection = { rejected: 'empty' | 'unparsable' | 'too_complex', detail: string }

/** The headers a mail key can come from, in the order they are searched. */
export const KEY_HEADERS = [
  'to',
  'references',
  'delivered-to',
  'x-delivered-to',
  'envelope-to',
  'x-envelope-to',
  'received',
  'x-original-to',
  'x-forwarded-to',
  'cc',
] as const
export type KeyHeader = (typeof KEY_HEADERS)[number]
