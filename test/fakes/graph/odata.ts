// Message JSON as Graph shapes it, plus the little OData ($select, $filter,
// absolute next links) the mail endpoints need.
import { graphTime } from './http.ts'
import type { Mailbox, StoredMessage } from './mailstore.ts'
import { parseHeaders } from './mime.ts'

export function messageJson (mailbox: Mailbox, m: StoredMessage): Record<string, unknown> {
  const from = address(m.from)
  const headers = parseHeaders(m.raw)
  return {
    '@odata.etag': `W/"${m.changeKey}"`,
    id: m.id,
    createdDateTime: graphTime(m.receivedMs),
    lastModifiedDateTime: graphTime(m.receivedMs),
    changeKey: m.changeKey,
    categories: [],
    receivedDateTime: graphTime(m.receivedMs),
    sentDateTime: graphTime(Date.parse(headers.get('date') ?? '') || m.receivedMs),
    hasAttachments: /multipart\/mixed/i.test(headers.get('content-type') ?? ''),
    internetMessageId: m.internetMessageId,
    subject: m.subject,
    bodyPreview: '',
    importance: 'normal',
    parentFolderId: m.folderId,
    conversationId: `AAQkA${Buffer.from(m.subject).toString('base64url').slice(0, 20)}=`,
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    isRead: m.isRead,
    isDraft: false,
    webLink: `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(m.id)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: 'focused',
    sender: from,
    from,
    toRecipients: [],
    ccRecipients: [],
    bccRecipients: [],
    replyTo: [],
    mailboxOwner: mailbox.upn,
  }
}

function address (value: string | undefined): { emailAddress: { name: string; address: string } } | null {
  if (!value) return null
  const m = value.match(/^\s*"?([^"<]*?)"?\s*<([^>]+)>/)
  return m ? { emailAddress: { name: m[1] || m[2], address: m[2] } } : { emailAddress: { name: value.trim(), address: value.trim() } }
}

/** Keep only the $select-ed properties (plus id and @odata.etag, as Graph does). */
export function select (json: Record<string, unknown>, $select: string | null): Record<string, unknown> {
  if (!$select) return json
  const wanted = new Set(['@odata.etag', 'id', ...$select.split(',').map((s) => s.trim())])
  return Object.fromEntries(Object.entries(json).filter(([key]) => wanted.has(key)))
}

/**
 * `$expand=singleValueExtendedProperties($filter=id eq 'Integer 0x0E08')`:
 * the message size (PR_MESSAGE_SIZE) as Exchange answers it (id lower-cased,
 * value a string); here the MIME size. Other expansions are ignored.
 */
export function expand (json: Record<string, unknown>, m: StoredMessage, $expand: string | null): Record<string, unknown> {
  if (!/singleValueExtendedProperties\(\$filter=id eq 'Integer 0x0E08'\)/i.test($expand ?? '')) return json
  return { ...json, singleValueExtendedProperties: [{ id: 'Integer 0xe08', value: String(m.raw.length) }] }
}

type Predicate = (m: StoredMessage) => boolean

/**
 * $filter clauses joined by `and`: `isRead eq true|false` and
 * `receivedDateTime ge|gt|le|lt <ISO>`. Returns an error message for anything else.
 */
export function parseFilter ($filter: string | null, allowIsRead = true): Predicate | string {
  if (!$filter) return () => true
  const tests: Predicate[] = []
  for (const clause of $filter.split(/\s+and\s+/i)) {
    const isRead = clause.trim().match(/^isRead\s+eq\s+(true|false)$/i)
    const received = clause.trim().match(/^receivedDateTime\s+(ge|gt|le|lt)\s+'?([0-9T:.\-+Z]+)'?$/i)
    if (isRead && allowIsRead) {
      const want = isRead[1].toLowerCase() === 'true'
      tests.push((m) => m.isRead === want)
    } else if (received && !Number.isNaN(Date.parse(received[2]))) {
      const at = Date.parse(received[2])
      const op = received[1].toLowerCase()
      // Graph compares at whole seconds (timestamps carry no milliseconds).
      tests.push((m) => {
        const t = Math.floor(m.receivedMs / 1000) * 1000
        return op === 'ge' ? t >= at : op === 'gt' ? t > at : op === 'le' ? t <= at : t < at
      })
    } else {
      return `Invalid filter clause: '${clause}'.`
    }
  }
  return (m) => tests.every((t) => t(m))
}

/** An absolute next/delta link the Graph SDK follows as-is (it must start with https://). */
export function link (base: string, pathname: string, params: Record<string, string | null | undefined>): string {
  const query = Object.entries(params)
    .filter((e): e is [string, string] => typeof e[1] === 'string')
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&')
  return `${base}${pathname}${query ? `?${query}` : ''}`
}
