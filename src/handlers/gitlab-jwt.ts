/**
 * The `Gitlab-Mailroom-Api-Request` token GitLab's internal mail_room API
 * checks (Gitlab::MailRoom::Authenticator): HS256, issuer `gitlab-mailroom`,
 * an `iat` GitLab requires to be present and less than 5 minutes old, and a
 * random nonce as mail_room sends. A fresh token per request, as mail_room.
 */
import { randomBytes } from 'node:crypto'
import { SignJWT } from 'jose'

export const MAILROOM_HEADER = 'Gitlab-Mailroom-Api-Request'
export const MAILROOM_ISSUER = 'gitlab-mailroom'

// importing the key once per secret, not once per email
const keys = new WeakMap<Uint8Array<ArrayBuffer>, Promise<CryptoKey>>()

function hmacKey (secret: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  let key = keys.get(secret)
  if (key === undefined) {
    key = crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    keys.set(secret, key)
  }
  return key
}

export async function mailroomToken (secret: Uint8Array<ArrayBuffer>, now = Date.now()): Promise<string> {
  return await new SignJWT({ nonce: randomBytes(12).toString('hex') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(MAILROOM_ISSUER)
    .setIssuedAt(Math.floor(now / 1000))
    .sign(await hmacKey(secret))
}

/** GitLab's endpoint for a mailbox type: `<url>/api/v4/internal/mail_room/<type>`, as GitLab's mail_room.yml builds it. */
export function mailroomUrl (gitlabUrl: string, mailboxType: string): string {
  return `${gitlabUrl.replace(/\/+$/, '')}/api/v4/internal/mail_room/${mailboxType}`
}
