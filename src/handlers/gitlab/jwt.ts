/**
 * The `Gitlab-Mailroom-Api-Request` token GitLab's internal mail_room API
 * checks (Gitlab::MailRoom::Authenticator): HS256, issuer `gitlab-mailroom`,
 * an `iat` GitLab requires to be present and less than 5 minutes old, and a
 * random nonce as mail_room sends. A fresh token per request, as mail_room.
 */
import { randomBytes } from 'node:crypto'
import { createSigner } from 'fast-jwt'

export const MAILROOM_HEADER = 'Gitlab-Mailroom-Api-Request'
export const MAILROOM_ISSUER = 'gitlab-mailroom'

type Signer = (payload: Record<string, unknown>) => string

// one signer per secret: fast-jwt signs synchronously with node:crypto, far
// cheaper a token than WebCrypto's asynchronous sign
const signers = new WeakMap<Uint8Array, Signer>()

export function mailroomToken (secret: Uint8Array, now = Date.now()): string {
  let sign = signers.get(secret)
  if (sign === undefined) {
    sign = createSigner({ key: Buffer.from(secret), algorithm: 'HS256', iss: MAILROOM_ISSUER }) as Signer
    signers.set(secret, sign)
  }
  return sign({ nonce: randomBytes(12).toString('hex'), iat: Math.floor(now / 1000) })
}

/** GitLab's endpoint for a mailbox type: `<url>/api/v4/internal/mail_room/<type>`, as GitLab's mail_room.yml builds it. */
export function mailroomUrl (gitlabUrl: string, mailboxType: string): string {
  return `${gitlabUrl.replace(/\/+$/, '')}/api/v4/internal/mail_room/${mailboxType}`
}
