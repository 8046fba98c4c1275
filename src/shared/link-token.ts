/**
 * Secret tokens carried in URLs (connect and status links, OAuth `state`):
 * 256 random bits, base64url. Only their SHA-256 is stored, so the table
 * alone opens nothing. A token is found by its hash: what an index
 * comparison could leak through timing is about the hash, and a hash says
 * nothing usable about the token it came from — the check is constant-time
 * in the secret itself.
 */
import { createHash, randomBytes } from 'node:crypto'

export interface LinkToken {
  /** Goes into the URL, never stored. */
  token: string
  /** Stored. */
  hash: Buffer
}

/** 43 characters: 256 bits, far beyond guessing. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

export function newLinkToken (): LinkToken {
  const token = randomBytes(32).toString('base64url')
  return { token, hash: linkTokenHash(token) }
}

export function linkTokenHash (token: string): Buffer {
  return createHash('sha256').update(token).digest()
}

/** True when `text` has a token's shape (anything else is answered "unknown" without a query). */
export function looksLikeLinkToken (text: string): boolean {
  return TOKEN_PATTERN.test(text)
}
