/**
 * What identifies a stored message without parsing it whole: its Message-ID
 * (read from the header block only) and the sha256 of its bytes. A message
 * without a Message-ID gets `<sha256@mailslot>`, as Action Mailbox does.
 */
import { createHash } from 'node:crypto'

export interface MessageIdentity { messageId: string, checksum: Buffer }

function headerBlock (raw: Buffer): string {
  const limit = Math.min(raw.length, 1024 * 1024)
  let end = raw.indexOf('\r\n\r\n')
  if (end === -1 || end > limit) end = raw.indexOf('\n\n')
  return raw.subarray(0, end === -1 || end > limit ? limit : end).toString('latin1')
}

export function messageIdentity (raw: Buffer): MessageIdentity {
  const checksum = createHash('sha256').update(raw).digest()
  // unfold continuation lines, then find the header
  const headers = headerBlock(raw).replace(/\r?\n[ \t]+/g, ' ')
  const m = /^message-id:[ \t]*(.*)$/im.exec(headers)
  const id = m?.[1].trim().match(/<[^<>\s]+>/)?.[0] ?? (m !== null && m[1].trim() !== '' ? `<${m[1].trim().replace(/[<>\s]/g, '')}>` : null)
  return { messageId: id ?? `<${checksum.toString('hex')}@mailslot>`, checksum }
}
