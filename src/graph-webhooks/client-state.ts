/**
 * The clientState of a subscription: a random secret Graph echoes in every
 * notification. Plain notifications carry no token, so it is the only proof
 * that a POST came from Graph for that subscription. Stored sealed
 * (AES-256-GCM); compared in constant time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { decrypt, encrypt, reseal, type Keyring } from '../shared/crypto.ts'

const PURPOSE = 'graph-client-state'

/** 64 characters: Graph allows at most 128. */
export function newClientState (): string {
  return randomBytes(48).toString('base64url')
}

export function sealClientState (keyring: Keyring, state: string): Buffer {
  return encrypt(keyring, state, PURPOSE)
}

export function openClientState (keyring: Keyring, sealed: Buffer): string {
  return decrypt(keyring, sealed, PURPOSE).toString('utf8')
}

/** A sealed clientState under the first key; null when it already is. */
export function resealClientState (keyring: Keyring, sealed: Buffer): Buffer | null {
  return reseal(keyring, sealed, PURPOSE)
}

/**
 * Constant time over the bytes; a missing or non-string value never
 * matches. Only the length may leak, and every clientState mailslot makes
 * has the same length.
 */
export function clientStateMatches (given: unknown, expected: Buffer): boolean {
  if (typeof given !== 'string' || Buffer.byteLength(given) !== expected.length) return false
  return timingSafeEqual(Buffer.from(given), expected)
}
