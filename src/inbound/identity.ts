/**
 * What identifies a stored message without parsing it whole: its Message-ID
 * (read from the header block only) and the sha256 of its bytes. A message
 * without a Message-ID gets `<sha256@mailslot>`, as Action Mailbox does.
 */
import { createHash } from 'node:crypto'
import { headerBlock } from '../shared/mime.ts'

export interface MessageIdentity { messageId: string, checksum: Buffer }

export function messageIdentity (raw: Buffer): MessageIdentity {
  const checksum = createHash('sha256').update(raw).digest()
  // unfold continuation lines, then find the header
  const headers = headerBlock(raw).toString('latin1').replace(/\r?\n[ \t]+/g, ' ')
  const m = /^message-id:[ \t]*(.*)$/im.exec(headers)
  const id = m?.[1].trim().match(/<[^<>\s]+>/)?.[0] ?? (m !== null && m[1].trim() !== '' ? `<${m[1].trim().replace(/[<>\s]/g, '')}>` : null)
  return { messageId: id ?? `<${checksum.toString('hex')}@mailslot>`, checksum }
}
