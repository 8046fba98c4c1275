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

export async function storeAttachments (
  client: PoolClient, owner: { issueId: number } | { noteId: number }, attachments: ParsedAttachment[]
): Promise<StoredAttachments> {
  const result: StoredAttachments = { stored: [], skipped: [] }
  for (const [i, a] of attachments.entries()) {
    if (a.isSignature) continue
    const filename = a.filename ?? `attachment-${i + 1}`
    if (a.contentOmitted || a.size > MAX_ATTACHMENT_BYTES) { result.skipped.push({ filename, reason: 'too_large' }); continue }
    await client.query(
      'INSERT INTO attachments (issue_id, note_id, filename, content_type, size, content) VALUES ($1, $2, $3, $4, $5, $6)',
      ['issueId' in owner ? owner.issueId : null, 'noteId' in owner ? owner.noteId : null, filename, a.contentType, a.size, a.content])
    result.stored.push(filename)
  }
  return result
}
