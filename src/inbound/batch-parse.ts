/**
 * The parse of a batch's emails for email-handle: the gitlab delivery needs
 * only the header block; big emails go to the parse threads ahead of their
 * turn, small ones are parsed at their turn on the event loop.
 */
import type { AppContext } from '../runtime/context.ts'
import type { Mailbox } from '../mailboxes/types.ts'
import type { ParsedEmail, ParseRejection } from '../routing/types.ts'
import { headerBlock } from '../shared/mime.ts'
import { MAX_ATTACHMENT_BYTES } from '../handlers/builtin/attachments.ts'
import type { Claimed } from './email-states.ts'

export type ParseResult = ParsedEmail | ParseRejection

/**
 * The gitlab delivery forwards the raw bytes and GitLab parses them: reading
 * the header block is enough for the summary (subject, sender) and the checks.
 */
function needsBody (mailbox: Mailbox | null): boolean {
  return mailbox?.spec.delivery?.kind !== 'gitlab'
}

/**
 * Bytes of big emails (those parsed on a thread) sent ahead of the email
 * being handled, so that the threads parse them meanwhile. Small emails are
 * parsed at their turn: started all at once on the event loop they would
 * interleave and delay every other callback of the process (fetches, commits).
 */
const PARSE_AHEAD_BYTES = 8 * 1024 * 1024

/** The emails of a batch parsed in order, big ones ahead of their turn (see PARSE_AHEAD_BYTES). */
export function batchParser (ctx: AppContext, claimed: Claimed[], mailboxOf: (email: Claimed) => Mailbox | null | Error): (i: number) => Promise<ParseResult | Error> {
  const parses = new Map<number, { size: number, result: Promise<ParseResult | Error> }>()
  let aheadBytes = 0
  const start = (i: number): void => {
    const mailbox = mailboxOf(claimed[i])
    if (mailbox instanceof Error) { parses.set(i, { size: 0, result: Promise.resolve(mailbox) }); return }
    const input = needsBody(mailbox) ? claimed[i].raw : headerBlock(claimed[i].raw)
    const size = ctx.parser.offLoop(input.length) ? input.length : 0
    aheadBytes += size
    // attachment content beyond what the built-in store keeps is counted, not held
    parses.set(i, { size, result: ctx.parser.parse(input, { maxAttachmentBytes: MAX_ATTACHMENT_BYTES }).catch((err: Error) => err) })
  }
  return async (i) => {
    if (!parses.has(i)) start(i)
    for (let j = i + 1; j < claimed.length && aheadBytes < PARSE_AHEAD_BYTES; j++) {
      if (!parses.has(j) && ctx.parser.offLoop(claimed[j].raw.length)) start(j)
    }
    const { size, result } = parses.get(i) as { size: number, result: Promise<ParseResult | Error> }
    parses.delete(i) // the parsed email is not held after its turn
    aheadBytes -= size
    return await result
  }
}

