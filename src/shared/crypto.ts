/**
 * AES-256-GCM for secrets at rest. Layout: version(1) | iv(12) | tag(16) | ciphertext.
 * The associated data binds a ciphertext to its purpose (e.g. "mailbox-secrets"),
 * so one cannot be swapped in for another.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

const VERSION = 1

export function encrypt (key: Buffer, plaintext: Buffer | string, purpose: string): Buffer {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(purpose))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body])
}

export function decrypt (key: Buffer, sealed: Buffer, purpose: string): Buffer {
  if (sealed.length < 29 || sealed[0] !== VERSION) throw new Error('not a mailslot ciphertext')
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13))
  decipher.setAAD(Buffer.from(purpose))
  decipher.setAuthTag(sealed.subarray(13, 29))
  return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()])
}

export function encryptJson (key: Buffer, value: unknown, purpose: string): Buffer {
  return encrypt(key, JSON.stringify(value), purpose)
}

export function decryptJson<T> (key: Buffer, sealed: Buffer, purpose: string): T {
  return JSON.parse(decrypt(key, sealed, purpose).toString('utf8')) as T
}
