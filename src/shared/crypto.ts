/**
 * AES-256-GCM for secrets at rest, under a keyring (MAILSLOT_ENCRYPTION_KEY=new,old):
 * written with the first key, read with whichever fits.
 * Layout: 2 | key id(4) | iv(12) | tag(16) | ciphertext, the key id being the
 * first 4 bytes of SHA-256(key), so the fitting key is found without trying
 * each. Version 1 (1 | iv | tag | ciphertext, no key id) is still read, by
 * trying every key. The associated data binds a ciphertext to its purpose
 * (e.g. "mailbox-secrets") and its header, so one cannot be swapped in for another.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

const VERSION = 2
const LEGACY = 1
const ID_BYTES = 4

export class Keyring {
  /** Newest first: the first encrypts. */
  readonly keys: readonly Buffer[]
  private readonly ids: readonly Buffer[]

  constructor (keys: readonly Buffer[]) {
    if (keys.length === 0) throw new Error('a keyring needs at least one key')
    for (const k of keys) if (k.length !== 32) throw new Error('every key must be 32 bytes')
    this.keys = keys
    this.ids = keys.map(k => createHash('sha256').update(k).digest().subarray(0, ID_BYTES))
  }

  /** The id written into new ciphertexts. */
  get currentId (): Buffer {
    return this.ids[0]
  }

  /** True when `sealed` is written with the first key: rotation leaves it alone. */
  isCurrent (sealed: Buffer): boolean {
    return sealed[0] === VERSION && sealed.subarray(1, 1 + ID_BYTES).equals(this.currentId)
  }

  /** The first key with this id, if any. */
  byId (id: Buffer): Buffer | undefined {
    const i = this.ids.findIndex(x => x.equals(id))
    return i < 0 ? undefined : this.keys[i]
  }
}

/** A ciphertext no key of the keyring opens (a wrong or dropped key, or tampering); the message says which. */
export class UndecryptableError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UndecryptableError'
  }
}

export function encrypt (keyring: Keyring, plaintext: Buffer | string, purpose: string): Buffer {
  const key = keyring.keys[0]
  const header = Buffer.concat([Buffer.from([VERSION]), keyring.currentId])
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.concat([header, Buffer.from(purpose)]))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([header, iv, cipher.getAuthTag(), body])
}

/** The plaintext of iv(12) | tag(16) | ciphertext starting at `at`; null when `key` does not open it. */
function open (key: Buffer, aad: Buffer, sealed: Buffer, at: number): Buffer | null {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(at, at + 12))
  decipher.setAAD(aad)
  decipher.setAuthTag(sealed.subarray(at + 12, at + 28))
  try {
    return Buffer.concat([decipher.update(sealed.subarray(at + 28)), decipher.final()])
  } catch {
    return null
  }
}

export function decrypt (keyring: Keyring, sealed: Buffer, purpose: string): Buffer {
  if (sealed[0] === VERSION && sealed.length >= 1 + ID_BYTES + 28) {
    const header = sealed.subarray(0, 1 + ID_BYTES)
    const key = keyring.byId(header.subarray(1))
    if (key === undefined) throw new UndecryptableError('written with a key not listed in MAILSLOT_ENCRYPTION_KEY')
    const plain = open(key, Buffer.concat([header, Buffer.from(purpose)]), sealed, header.length)
    if (plain === null) throw new UndecryptableError('the data does not authenticate under its key (altered?)')
    return plain
  }
  if (sealed[0] === LEGACY && sealed.length >= 29) {
    for (const key of keyring.keys) {
      const plain = open(key, Buffer.from(purpose), sealed, 1)
      if (plain !== null) return plain
    }
    throw new UndecryptableError('no key listed in MAILSLOT_ENCRYPTION_KEY opens it')
  }
  throw new UndecryptableError('not a mailslot ciphertext')
}

/** `sealed` written with the first key; null when it already is. */
export function reseal (keyring: Keyring, sealed: Buffer, purpose: string): Buffer | null {
  return keyring.isCurrent(sealed) ? null : encrypt(keyring, decrypt(keyring, sealed, purpose), purpose)
}

export function encryptJson (keyring: Keyring, value: unknown, purpose: string): Buffer {
  return encrypt(keyring, JSON.stringify(value), purpose)
}

export function decryptJson<T> (keyring: Keyring, sealed: Buffer, purpose: string): T {
  return JSON.parse(decrypt(keyring, sealed, purpose).toString('utf8')) as T
}
