/**
 * Attachments of a new issue or note: stored (up to a size limit each),
 * linked from the issue or note, signature parts of signed mail dropped.
 * Stored only when the issue or note was created by this very handling, so a
 * replay does not store them twice.
 */
import type { PoolClient } from '../../db/pool.ts'
import { MAX_ATTACHMENT_BYTES } from '../../parsing/parse.ts'
import type { ParsedAttachment } from '../../parsing/types.ts'

export interface StoredAttachments { stored: string[], skipped: Array<{ filename: string, reason: 'too_large' }> }

export type AttachmentOwner = { issueId: number } | { noteId: number }

interface Kept { filename: string, contentType: string, size: number, content: Buffer }

/** What of an email's attachments is kept, and what its outcome says of them. */
function sortOut (attachments: ParsedAttachment[]): { kept: Kept[], summary: StoredAttachments } {
  const kept: Kept[] = []
  const summary: StoredAttachments = { stored: [], skipped: [] }
  for (const [i, a] of attachments.entries()) {
    if (a.isSignature) continue
    const filename = a.filename ?? `attachment-${i + 1}`
    if (a.contentOmitted || a.size > MAX_ATTACHMENT_BYTES) { summary.skipped.push({ filename, reason: 'too_large' }); continue }
    kept.push({ filename, contentType: a.contentType, size: a.size, content: a.content })
    summary.stored.push(filename)
  }
  return { kept, summary }
}

/** The attachments of several new issues and notes, in one INSERT; each one's summary, in the order given. */
export async function storeAttachments (
  client: PoolClient, owners: Array<{ owner: AttachmentOwner, attachments: ParsedAttachment[] }>
): Promise<StoredAttachments[]> {
  const rows: Array<Kept & { owner: AttachmentOwner }> = []
  const summaries = owners.map(({ owner, attachments }) => {
    const { kept, summary } = sortOut(attachments)
    for (const k of kept) rows.push({ ...k, owner })
    return summary
  })
  if (rows.length > 0) {
    await client.query(
      `INSERT INTO attachments (issue_id, note_id, filename, content_type, size, content)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::integer[], $6::bytea[])`,
      [rows.map(r => 'issueId' in r.owner ? r.owner.issueId : null), rows.map(r => 'noteId' in r.owner ? r.owner.noteId : null),
        rows.map(r => r.filename), rows.map(r => r.contentType), rows.map(r => r.size), rows.map(r => r.content)])
  }
  return summaries
}
