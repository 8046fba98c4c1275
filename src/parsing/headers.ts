// Helpers that read raw header lines. mailparser's structured values lose
// information routing needs (repeated delivery headers, the `for <addr>` of
// each Received, References that a client joined with commas or quoted), so
// those are taken from the raw lines instead.
import type { AddressObject, EmailAddress, HeaderLines } from 'mailparser'
import type { DeliveryHeaders, MailAddress } from './types.ts'

export interface RawHeader {
  name: string
  value: string
}

/** Lower-case name and unfolded, trimmed value of every header line. */
export function rawHeaders (lines: HeaderLines): RawHeader[] {
  return lines.map(({ key, line }) => {
    const unfolded = line.replace(/\r?\n(?=[ \t])/g, '')
    const colon = unfolded.indexOf(':')
    return { name: key.toLowerCase(), value: colon < 0 ? '' : unfolded.slice(colon + 1).trim() }
  })
}

export function valuesOf (headers: RawHeader[], name: string): string[] {
  return headers.filter((h) => h.name === name).map((h) => h.value)
}

export function firstValue (headers: RawHeader[], name: string): string | null {
  return headers.find((h) => h.name === name)?.value ?? null
}

// Same pattern GitLab's receiver uses: the first `for <...>` of a Received header.
const RECEIVED_FOR = /for\s+<([^<]+)>/

export function deliveryHeaders (headers: RawHeader[]): DeliveryHeaders {
  return {
    deliveredTo: valuesOf(headers, 'delivered-to'),
    xDeliveredTo: valuesOf(headers, 'x-delivered-to'),
    envelopeTo: valuesOf(headers, 'envelope-to'),
    xEnvelopeTo: valuesOf(headers, 'x-envelope-to'),
    receivedFor: valuesOf(headers, 'received').flatMap((v) => {
      const m = RECEIVED_FOR.exec(v)
      return m ? [m[1].trim()] : []
    }),
    xOriginalTo: valuesOf(headers, 'x-original-to'),
    xForwardedTo: valuesOf(headers, 'x-forwarded-to'),
  }
}

/**
 * Every message id in the values of Message-ID, In-Reply-To or References,
 * with angle brackets. Ids are found by their `<…>`, so Exchange's
 * comma-joined References and a value wrapped in quotes both split
 * correctly, and comments are dropped; a value with no brackets at all is
 * split on whitespace and commas. (mailparser keeps such values as they
 * come: `<a@b> (comment)` becomes one id.)
 */
export function messageIds (values: string[]): string[] {
  return values.flatMap((value) => {
    const bracketed = [...value.matchAll(/<([^<>]+)>/g)].map((m) => `<${m[1].trim()}>`)
    if (bracketed.length > 0) return bracketed
    return value
      .split(/[\s,]+/)
      .map((t) => t.replaceAll('"', '')) // message ids never hold quotes
      .filter((t) => t.includes('@'))
      .map((t) => `<${t}>`)
  })
}

/** Flattens mailparser address objects (groups included) to mailboxes that have an address. */
export function flattenAddresses (value: AddressObject | AddressObject[] | undefined): MailAddress[] {
  const objects = value === undefined ? [] : Array.isArray(value) ? value : [value]
  const walk = (entries: EmailAddress[]): MailAddress[] =>
    entries.flatMap((e) =>
      e.group ? walk(e.group) : e.address?.includes('@') ? [{ address: e.address, name: e.name ?? '' }] : []
    )
  return walk(objects.flatMap((o) => o.value))
}

/**
 * Adds `<addr>` entries of the raw header values that the structured parse
 * lost. Some clients run two headers together on one line
 * (`To: A <a@b>Accept-Language: en-US`), which mailparser reads as a group
 * and drops the address from; Ruby's Mail still finds it, and so must we.
 */
export function withBracketedAddresses (parsed: MailAddress[], rawValues: string[]): MailAddress[] {
  const seen = new Set(parsed.map((a) => a.address.toLowerCase()))
  const extra: MailAddress[] = []
  for (const value of rawValues) {
    for (const m of value.matchAll(/<([^<>\s]+@[^<>\s]+)>/g)) {
      if (!seen.has(m[1].toLowerCase())) {
        seen.add(m[1].toLowerCase())
        extra.push({ address: m[1], name: '' })
      }
    }
  }
  return [...parsed, ...extra]
}
