// Raw bytes → ParsedEmail. mailparser is lenient: garbage or empty input
// resolves to an empty mail. The cases we want reported (`empty`,
// `unparsable`) are therefore decided here, before the parser runs; what
// its limits refuse (`too_complex`) is told by the error it ends with.
import { createHash } from 'node:crypto'
import type { AddressObject, ParsedMail } from 'mailparser'
import { parseMime, type StreamedAttachment } from './mime-stream.ts'
import {
  deliveryHeaders,
  firstValue,
  flattenAddresses,
  rawHeaders,
  messageIds,
  valuesOf,
  withBracketedAddresses,
} from './headers.ts'
import type { RawHeader } from './headers.ts'
import type { ParsedAttachment, ParsedEmail, ParseRejection } from './types.ts'

/**
 * Largest attachment kept, in bytes: stored emails are parsed holding no
 * more of one, and the built-in store keeps none larger.
 */
export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

export interface ParseOptions {
  /** Passed to mailparser; HTML larger than this is not parsed for links. */
  maxHtmlLengthToParse?: number
  /** Attachment bytes kept per attachment (the rest is counted, not held). Default: all. */
  maxAttachmentBytes?: number
  /** sha256 (hex) of the raw bytes, when already known (stored emails): not computed again. */
  checksum?: string
}

// Signature parts of S/MIME and PGP mails: attachments in MIME terms, but a
// file nobody wants uploaded next to the reply.
const SIGNATURE_TYPES = new Set([
  'application/pkcs7-signature',
  'application/x-pkcs7-signature',
  'application/pgp-signature',
])

const WHITESPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20])

// RFC 5322 field name (printable ASCII but ':'), optional obsolete WSP, colon.
const HEADER_FIELD = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/

export function isParseRejection (r: ParsedEmail | ParseRejection): r is ParseRejection {
  return 'rejected' in r
}

export async function parseEmail (raw: Buffer, opts: ParseOptions = {}): Promise<ParsedEmail | ParseRejection> {
  const checksum = opts.checksum ?? createHash('sha256').update(raw).digest('hex')
  const source = stripLeadingBlankLines(raw)
  if (!source.some((byte) => !WHITESPACE.has(byte))) {
    return { rejected: 'empty', detail: 'the message has no content' }
  }
  const firstLine = source.subarray(0, Math.min(source.length, 1000)).toString('latin1').split(/\r?\n/, 1)[0]
  if (!HEADER_FIELD.test(firstLine)) {
    return { rejected: 'unparsable', detail: 'the message does not start with a header field' }
  }

  let mail: ParsedMail
  try {
    mail = await parseMime(source, opts)
  } catch (err) {
    if (isParserLimit(err)) return { rejected: 'too_complex', detail: `past a MIME parser limit: ${err.message}` }
    throw err
  }
  return withoutNul(toParsedEmail(mail, source, checksum, raw.length))
}

/** PostgreSQL text and jsonb cannot hold U+0000, which carries nothing in mail: it is dropped from all the parse yields. */
function withoutNul<T> (value: T): T {
  if (typeof value === 'string') return (value.includes('\0') ? value.replaceAll('\0', '') : value) as T
  if (Array.isArray(value)) return value.map(withoutNul) as T
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNul(v)])) as T
}

/** mailsplit's size and part-count limits (a 1 MB header block, 1,000 parts) end the parse with code EMAXLEN. */
function isParserLimit (err: unknown): err is Error {
  return err instanceof Error && (err as Error & { code?: unknown }).code === 'EMAXLEN'
}

/**
 * Drops blank lines before the first header. Ruby's Mail (and so GitLab)
 * tolerates them, and four GitLab fixtures start that way; a strict parser
 * would read the whole message as a header-less body.
 */
function stripLeadingBlankLines (raw: Buffer): Buffer {
  let i = 0
  for (;;) {
    let j = i
    while (raw[j] === 0x20 || raw[j] === 0x09) j++
    if (raw[j] === 0x0d && raw[j + 1] === 0x0a) j += 2
    else if (raw[j] === 0x0a) j += 1
    else return raw.subarray(i)
    i = j
  }
}

function toParsedEmail (mail: ParsedMail, source: Buffer, checksum: string, rawSize: number): ParsedEmail {
  const headers = rawHeaders(mail.headerLines)
  const attachments = (mail.attachments as StreamedAttachment[]).map(toAttachment)
  const html = typeof mail.html === 'string' && mail.html !== '' ? mail.html : null
  let text = mail.text ?? null
  if (!text && !html && attachments.length === 0) text = bodyOfBrokenMultipart(source, headers)
  const messageId = messageIds(valuesOf(headers, 'message-id'))[0] ?? null
  return {
    messageId: messageId ?? `<${checksum}@mailslot>`,
    messageIdSynthesized: messageId === null,
    inReplyTo: messageIds(valuesOf(headers, 'in-reply-to'))[0] ?? null,
    references: messageIds(valuesOf(headers, 'references')),
    from: flattenAddresses(mail.from)[0] ?? null,
    replyTo: flattenAddresses(mail.replyTo),
    sender: flattenAddresses(addressHeader(mail, 'sender'))[0] ?? null,
    to: withBracketedAddresses(flattenAddresses(mail.to), valuesOf(headers, 'to')),
    cc: withBracketedAddresses(flattenAddresses(mail.cc), valuesOf(headers, 'cc')),
    subject: mail.subject ?? '',
    date: parseDate(firstValue(headers, 'date')),
    delivery: deliveryHeaders(headers),
    autoSubmitted: firstValue(headers, 'auto-submitted'),
    xAutoreply: firstValue(headers, 'x-autoreply'),
    precedence: firstValue(headers, 'precedence'),
    headers,
    text,
    html,
    attachments,
    checksum,
    sizes: {
      raw: rawSize,
      text: text === null ? 0 : Buffer.byteLength(text),
      html: html === null ? 0 : Buffer.byteLength(html),
      attachments: attachments.reduce((n, a) => n + a.size, 0),
    },
  }
}

function addressHeader (mail: ParsedMail, name: string): AddressObject | undefined {
  const value = mail.headers.get(name)
  return value && typeof value === 'object' && 'value' in value && Array.isArray(value.value)
    ? (value as AddressObject)
    : undefined
}

// mailparser turns an unreadable Date into "now"; we would rather say we do not know.
function parseDate (value: string | null): string | null {
  if (value === null) return null
  const d = new Date(value)
  return Number.isNaN(d.getTime()) ? null : d.toISOString()
}

function toAttachment (a: StreamedAttachment): ParsedAttachment {
  return {
    filename: a.filename ?? null,
    contentType: a.contentType,
    size: a.size,
    content: a.content,
    contentId: a.contentId ?? null,
    inline: a.contentDisposition === 'inline' || a.related === true,
    isSignature: SIGNATURE_TYPES.has(a.contentType.toLowerCase()),
    contentOmitted: a.contentOmitted,
  }
}

/**
 * A mail that declares multipart but has no boundaries (dutch.eml) parses to
 * no text at all. Ruby's Mail then falls back to the whole body, and GitLab
 * uses that; so do we. Like GitLab's ReplyParser, a body that still shows MIME
 * structure is not prose we failed to find but MIME we failed to parse.
 */
function bodyOfBrokenMultipart (source: Buffer, headers: RawHeader[]): string | null {
  const m = /\r?\n\r?\n/.exec(source.toString('latin1'))
  if (!m) return null
  const body = source.subarray(m.index + m[0].length)
  const text = decode(body, /charset="?([^";\s]+)/i.exec(firstValue(headers, 'content-type') ?? '')?.[1])
  if (!/\S/.test(text) || /Content-Type:|multipart\/alternative|text\/plain/i.test(text)) return null
  return text
}

function decode (bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes)
  } catch {
    return new TextDecoder('utf-8').decode(bytes) // unknown charset label
  }
}
