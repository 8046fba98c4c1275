// Bounces and loops: mail no handler may answer or record, checked with the
// auto-generated markers before any key lookup. A bounce turned into an issue
// notifies its author, whose server bounces again; a loop is our own mail back.
import { addrSpec } from './address-key.ts'
import type { WildcardMatcher } from './address-key.ts'
import { KEY_PLACEHOLDER } from './address-key.ts'
import type { ParsedEmail } from '../parsing/types.ts'

type Mail = Pick<ParsedEmail, 'headers' | 'from' | 'messageId' | 'messageIdSynthesized'>

/** Why the mail is a bounce or another machine report, or null. */
export function bounceReason (parsed: Mail): string | null {
  const contentType = header(parsed, 'content-type')
  // RFC 6522: multipart/report carries delivery (RFC 3464), read (RFC 8098) and abuse reports, all machine-made
  if (contentType !== null && /^\s*multipart\/report\b/i.test(contentType)) {
    const type = /report-type\s*=\s*"?([\w-]+)/i.exec(contentType)?.[1]?.toLowerCase() ?? 'unknown'
    return `a multipart/report (report-type ${type})`
  }
  const from = parsed.from?.address ?? ''
  if (/^mailer-daemon@/i.test(from)) return `sent by ${from}`
  if (header(parsed, 'x-failed-recipients') !== null) return 'an X-Failed-Recipients header (a non-delivery report)'
  return null
}

/**
 * Why the mail is our own coming back, or null: sent from one of the
 * mailbox's addresses, an X-Loop naming one, or a Message-ID mailslot made
 * up for a mail that had none (it never leaves mailslot but in a webhook).
 */
export function loopReason (parsed: Mail, wildcard: WildcardMatcher | null): string | null {
  if (!parsed.messageIdSynthesized && /^<[0-9a-f]{64}@mailslot>$/i.test(parsed.messageId)) {
    return `Message-ID ${parsed.messageId} is one mailslot made`
  }
  if (wildcard === null) return null
  const own = ownAddress(wildcard)
  const from = parsed.from?.address
  if (from !== undefined && own(from)) return `sent from this mailbox's address ${from}`
  for (const value of values(parsed, 'x-loop')) {
    if (own(value)) return `X-Loop: ${value}`
  }
  return null
}

/** Matches the wildcard with any key, and its address without one (`incoming@…` for `incoming+%{key}@…`). */
function ownAddress (wildcard: WildcardMatcher): (address: string) => boolean {
  const bare = wildcard.wildcard.replace(new RegExp(`[+-]?${KEY_PLACEHOLDER.replace(/[{}]/g, '\\$&')}`), '').toLowerCase()
  const hasBare = !bare.startsWith('@')
  return (address) => wildcard(address) !== null || (hasBare && addrSpec(address).toLowerCase() === bare)
}

function values (parsed: Mail, name: string): string[] {
  return parsed.headers.filter(h => h.name === name).map(h => h.value)
}

function header (parsed: Mail, name: string): string | null {
  return parsed.headers.find(h => h.name === name)?.value ?? null
}
