// Finding the mail key: which recipient carries the configured wildcard
// address (`incoming+%{key}@host`) and what stands in for %{key}.
import { isReplyKey } from './matchers.ts'
import type { KeyHeader, ParsedEmail } from '../parsing/types.ts'

export const KEY_PLACEHOLDER = '%{key}'

/** Returns the key of an address that fits the wildcard, or null. */
export type WildcardMatcher = ((address: string) => string | null) & { wildcard: string }

export class WildcardError extends Error {
  override name = 'WildcardError'
}

/**
 * Compiles a wildcard address. It must hold exactly one `%{key}`, in the
 * local part, and a domain: anything else could never match a real
 * recipient, and is far better reported at startup than as mail that is
 * silently never routed.
 */
export function wildcardMatcher (wildcard: string): WildcardMatcher {
  const known = compiled.get(wildcard)
  if (known !== undefined) return known
  const matcher = compileWildcard(wildcard)
  if (compiled.size >= COMPILED_MAX) compiled.clear()
  compiled.set(wildcard, matcher)
  return matcher
}

/** Compiled wildcards by address: a mailbox's is compiled once, not once per email it routes. */
const compiled = new Map<string, WildcardMatcher>()
/** More wildcards than mailboxes anyone runs; past it the map starts over. */
const COMPILED_MAX = 10_000

function compileWildcard (wildcard: string): WildcardMatcher {
  const at = wildcard.lastIndexOf('@')
  const count = wildcard.split(KEY_PLACEHOLDER).length - 1
  if (count !== 1) {
    throw new WildcardError(`wildcard address "${wildcard}" must contain exactly one ${KEY_PLACEHOLDER}, found ${count}`)
  }
  if (at < 0 || at === wildcard.length - 1) {
    throw new WildcardError(`wildcard address "${wildcard}" needs a domain after "@"`)
  }
  if (wildcard.indexOf(KEY_PLACEHOLDER) > at) {
    throw new WildcardError(`wildcard address "${wildcard}" must have ${KEY_PLACEHOLDER} in the local part, before "@"`)
  }
  if (/[\s<>,;"]/.test(wildcard)) {
    throw new WildcardError(`wildcard address "${wildcard}" must be a bare address (no spaces, brackets or quotes)`)
  }
  const [before, after] = wildcard.split(KEY_PLACEHOLDER).map(escapeRegExp)
  // Addresses compare case-insensitively (hosts always, local parts in
  // practice); the key itself keeps the case it was written in.
  const pattern = new RegExp(`^${before}(.+)${after}$`, 'i')
  const match = (address: string): string | null => pattern.exec(addrSpec(address))?.[1] ?? null
  return Object.assign(match, { wildcard })
}

/**
 * The bare address of a header value: the text inside `<…>` when there is
 * one (display names, `<addr>` as some relays write Envelope-To), otherwise
 * the trimmed value.
 */
export function addrSpec (value: string): string {
  const bracketed = /<([^<>]*)>/.exec(value)
  return (bracketed ? bracketed[1] : value).trim()
}

export interface FoundKey {
  key: string
  header: KeyHeader
  /** The address or message id the key came from. */
  value: string
}

export interface FindKeyOptions {
  /**
   * GitLab's host, for References ids of the form `reply-<key>@<host>`.
   * Without it any host is accepted, but only for keys shaped like a reply
   * key: GitLab puts nothing else there, and an unrelated thread's id must not
   * shadow the headers searched after References.
   */
  referencesHost?: string
}

export type KeyCandidate = { header: KeyHeader, value: string }

/**
 * Every recipient address and reference id, in the order GitLab searches
 * them: To, References, Delivered-To, X-Delivered-To, Envelope-To,
 * X-Envelope-To, Received `for <…>`, X-Original-To, X-Forwarded-To, Cc.
 */
export function keyCandidates (parsed: ParsedEmail): KeyCandidate[] {
  const d = parsed.delivery
  const lists: [KeyHeader, string[]][] = [
    ['to', parsed.to.map((a) => a.address)],
    ['references', parsed.references],
    ['delivered-to', d.deliveredTo],
    ['x-delivered-to', d.xDeliveredTo],
    ['envelope-to', d.envelopeTo],
    ['x-envelope-to', d.xEnvelopeTo],
    ['received', d.receivedFor],
    ['x-original-to', d.xOriginalTo],
    ['x-forwarded-to', d.xForwardedTo],
    ['cc', parsed.cc.map((a) => a.address)],
  ]
  return lists.flatMap(([header, values]) => values.map((value) => ({ header, value })))
}

/** The key a single candidate yields, or null. */
export function keyOf (c: KeyCandidate, wildcard: WildcardMatcher | null, opts: FindKeyOptions = {}): string | null {
  if (c.header === 'references') return keyFromReference(c.value, opts.referencesHost)
  return wildcard ? wildcard(c.value) : null
}

/** The first key found, in header order (first hit wins, as in GitLab). */
export function findMailKey (
  parsed: ParsedEmail,
  wildcard: WildcardMatcher | string | null,
  opts: FindKeyOptions = {}
): FoundKey | null {
  const matcher = typeof wildcard === 'string' ? wildcardMatcher(wildcard) : wildcard
  for (const c of keyCandidates(parsed)) {
    const key = keyOf(c, matcher, opts)
    if (key !== null) return { key, header: c.header, value: c.value }
  }
  return null
}

function keyFromReference (id: string, host: string | undefined): string | null {
  const m = /^reply-(.+)@([^@]+)$/i.exec(addrSpec(id))
  if (!m) return null
  if (host !== undefined) return m[2].toLowerCase() === host.toLowerCase() ? m[1] : null
  return isReplyKey(m[1]) ? m[1] : null
}

function escapeRegExp (s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
