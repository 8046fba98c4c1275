/**
 * The parse of stored emails for email-handle. The gitlab delivery forwards
 * the raw bytes and GitLab parses them: reading the header block is enough
 * for the summary (subject, sender) and the checks. Other emails are parsed
 * whole: the small ones of a batch on the parse lane when it takes them
 * (parse-lane.ts), the rest on the event loop, where parseEmail feeds
 * mailparser 64 KB at a time, so that a big email never holds the loop for
 * the whole of its parse.
 */
import type { Mailbox } from '../mailboxes/types.ts'
import { MAX_ATTACHMENT_BYTES, parseEmail, type ParseOptions } from '../parsing/parse.ts'
import type { ParsedEmail, ParseRejection } from '../parsing/types.ts'
import { LANE_EMAIL_BYTES, isLaneFailure, type ParseLane } from '../parsing/parse-lane.ts'
import { headerBlock } from '../shared/mime.ts'

export type ParseResult = ParsedEmail | ParseRejection

interface StoredRaw { id: number, raw: Buffer, checksum: string }

const needsHeadersOnly = (mailbox: Mailbox | null): boolean => mailbox?.spec.delivery?.kind === 'gitlab'

/** checksum: the stored sha256 (hex) of all of raw, also when only the header block is parsed. */
function parseOptions (checksum: string): ParseOptions {
  // attachment content beyond what the built-in store keeps is counted, not held
  return { maxAttachmentBytes: MAX_ATTACHMENT_BYTES, checksum }
}

/** One stored email parsed on the event loop. */
async function parseStored (email: StoredRaw, mailbox: Mailbox | null): Promise<ParseResult> {
  return await parseEmail(needsHeadersOnly(mailbox) ? headerBlock(email.raw) : email.raw, parseOptions(email.checksum))
}

/**
 * The parses of a batch: its small whole-parse emails handed to the lane at
 * once (if it takes them), each other one parsed on the event loop when
 * asked for. What the lane fails to parse is parsed on the event loop.
 */
export function batchParses<E extends StoredRaw> (
  lane: ParseLane, emails: E[], mailboxOf: (email: E) => Mailbox | null | Error
): (email: E, mailbox: Mailbox | null) => Promise<ParseResult> {
  const forLane = emails.filter(e => {
    const mailbox = mailboxOf(e)
    return e.raw.length <= LANE_EMAIL_BYTES && !(mailbox instanceof Error) && !needsHeadersOnly(mailbox)
  })
  const handed = lane.offer(forLane.map(e => e.raw), forLane.map(e => parseOptions(e.checksum)))
  const onLane = new Map<number, Promise<ParseResult | undefined>>()
  if (handed !== undefined) {
    // a failed lane, or a parse it could not do: that email is parsed here instead
    for (const [i, e] of forLane.entries()) onLane.set(e.id, handed[i].then(r => isLaneFailure(r) ? undefined : r, () => undefined))
  }
  return async (email, mailbox) => (await onLane.get(email.id)) ?? await parseStored(email, mailbox)
}
