/**
 * The parse of a stored email for email-handle. The gitlab delivery forwards
 * the raw bytes and GitLab parses them: reading the header block is enough
 * for the summary (subject, sender) and the checks. Parsing runs on the event
 * loop: parseEmail feeds mailparser 64 KB at a time, so even a 25 MB email
 * (about 300 ms of parsing) holds the loop no longer than about 10 ms at once.
 */
import type { Mailbox } from '../mailboxes/types.ts'
import { parseEmail } from '../routing/parse.ts'
import type { ParsedEmail, ParseRejection } from '../routing/types.ts'
import { headerBlock } from '../shared/mime.ts'
import { MAX_ATTACHMENT_BYTES } from '../handlers/builtin/attachments.ts'

export type ParseResult = ParsedEmail | ParseRejection

/** checksum: the stored sha256 (hex) of all of raw, also when only the header block is parsed. */
export async function parseStored (raw: Buffer, checksum: string, mailbox: Mailbox | null): Promise<ParseResult> {
  const input = mailbox?.spec.delivery?.kind === 'gitlab' ? headerBlock(raw) : raw
  // attachment content beyond what the built-in store keeps is counted, not held
  return await parseEmail(input, { maxAttachmentBytes: MAX_ATTACHMENT_BYTES, checksum })
}
