/**
 * email-handle: claim a batch of stored emails, parse each (mailparser, with
 * mailslot deciding `empty` and `unparsable` itself), hand it to its
 * mailbox's delivery, and record the end state. Effects are idempotent by
 * email id, so a job run twice changes nothing the second time.
 * A retryable failure is retried by a new job with backoff; after
 * MAX_ATTEMPTS the email ends `failed` (replayable).
 */
import type { QueryConfig } from 'pg'
import type { AppContext } from '../runtime/context.ts'
import { loadMailbox } from '../mailboxes/repository.ts'
import type { Mailbox } from '../mailboxes/types.ts'
import { isParseRejection } from '../routing/parse.ts'
import type { ParsedEmail, ParseRejection } from '../routing/types.ts'
import { dispatch } from '../handlers/dispatch.ts'
import type { Outcome, StoredEmail } from '../handlers/types.ts'
import { RetryableError } from '../handlers/types.ts'
import { send } from '../queue/boss.ts'
import { faultPoint } from '../shared/faults.ts'
import { parsedSummary } from './summary.ts'
import { headerBlock } from '../shared/mime.ts'
import { MAX_ATTACHMENT_BYTES } from '../handlers/builtin/attachments.ts'
import { batchMemo, type BatchMemo } from '../handlers/types.ts'

export const MAX_ATTEMPTS = 5

interface Claimed { id: number, mailbox_id: number | null, mailbox_name: string, raw_complete: boolean, attempts: number, raw: Buffer }

/**
 * Claims emails not yet in an end state (delivered/rejected ones are left
 * alone: idempotence) and reads their raw bytes, in one statement.
 * The result is read in binary: bytea arrives as the bytes themselves, not as
 * hex text of twice their size (which a 25 MB email would feel). pg returns
 * binary results only for statements without parameters, so the ids, checked
 * to be integers, are written into the statement, and the other columns are
 * read as text, bool and int4, whose binary forms pg decodes.
 */
async function claim (ctx: AppContext, ids: number[]): Promise<Claimed[]> {
  if (ids.length === 0) return []
  if (!ids.every(Number.isSafeInteger)) throw new Error('email ids must be integers')
  const { rows } = await ctx.pool.query<{ id: string, mailbox_id: string | null, mailbox_name: string, raw_complete: boolean, attempts: number, raw: Buffer | null }>({
    text: `WITH claimed AS (
             UPDATE inbound_emails SET status = 'processing', attempts = attempts + 1
             WHERE id IN (${ids.join(',')}) AND status IN ('received', 'processing')
             RETURNING id, mailbox_id, mailbox_name, raw_complete, attempts)
           SELECT c.id::text, c.mailbox_id::text, c.mailbox_name, c.raw_complete, c.attempts, r.raw
           FROM claimed c LEFT JOIN inbound_email_raw r ON r.email_id = c.id ORDER BY c.id`,
    binary: true // pg supports it; its types do not list it
  } as QueryConfig)
  return rows.map(r => {
    if (r.raw === null) throw new Error(`email ${r.id} has no raw message`)
    return { id: Number(r.id), mailbox_id: r.mailbox_id === null ? null : Number(r.mailbox_id), mailbox_name: r.mailbox_name, raw_complete: r.raw_complete, attempts: r.attempts, raw: r.raw }
  })
}

interface Finished { email: Claimed, outcome: Outcome, parsed: ParsedEmail | null }

/**
 * Records the end states of a batch in one statement: one commit (one WAL
 * flush) per batch instead of one per email. An email whose effects ran but
 * whose end state was not written yet stays `processing`; its job is retried
 * and the effects, idempotent by email id, are not repeated.
 */
async function finishAll (ctx: AppContext, done: Finished[]): Promise<void> {
  if (done.length === 0) return
  faultPoint('handle.before-finish')
  const result = (o: Outcome): unknown => o.status === 'delivered' ? o.result : (o.detail !== undefined ? { detail: o.detail } : null)
  // PostgreSQL's json cannot hold NUL (U+0000), which a hostile header may carry
  const json = (v: unknown): string | null => v === null ? null : JSON.stringify(v).replaceAll('\\u0000', '')
  await ctx.pool.query(
    `UPDATE inbound_emails e SET status = f.status, reason = f.reason, handler = f.handler, result = f.result::jsonb,
       parsed = coalesce(f.parsed::jsonb, e.parsed), last_error = NULL, handled_at = now()
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS f(id, status, reason, handler, result, parsed)
     WHERE e.id = f.id`,
    [done.map(d => d.email.id), done.map(d => d.outcome.status), done.map(d => d.outcome.status === 'rejected' ? d.outcome.reason : null),
      done.map(d => d.outcome.handler ?? null), done.map(d => json(result(d.outcome))), done.map(d => d.parsed === null ? null : json(parsedSummary(d.parsed)))])
  for (const d of done) ctx.metrics.emailsFinished.inc({ status: d.outcome.status })
}

async function fail (ctx: AppContext, email: Claimed, err: Error): Promise<void> {
  const retry = err instanceof RetryableError && email.attempts < MAX_ATTEMPTS
  await ctx.pool.query(
    `UPDATE inbound_emails SET status = $2, last_error = $3, handled_at = CASE WHEN $2 = 'failed' THEN now() END WHERE id = $1`,
    [email.id, retry ? 'received' : 'failed', err.message.slice(0, 2000)])
  if (retry) {
    // base × 1, 2, 4, 8 (2 s, 4 s, 8 s, 16 s by default), or longer if the endpoint
    // asked (Retry-After); a new job per try keeps one email's retries from holding back a batch
    const backoff = ctx.settings.handleRetryBaseSeconds * 2 ** (email.attempts - 1)
    await send(ctx.boss, 'email-handle', { emailIds: [email.id] }, { startAfter: Math.max(backoff, (err as RetryableError).retryAfterSeconds ?? 0) })
  } else {
    ctx.metrics.emailsFinished.inc({ status: 'failed' })
  }
}

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

type ParseResult = ParsedEmail | ParseRejection

/** The emails of a batch parsed in order, big ones ahead of their turn (see PARSE_AHEAD_BYTES). */
function batchParser (ctx: AppContext, claimed: Claimed[], mailboxOf: (email: Claimed) => Mailbox | null | Error): (i: number) => Promise<ParseResult | Error> {
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

async function handleOne (ctx: AppContext, email: Claimed, mailbox: Mailbox | null, parsed: ParseResult, memo: BatchMemo): Promise<Finished> {
  const done = (outcome: Outcome, p: ParsedEmail | null): Finished => ({ email, outcome, parsed: p })
  if (isParseRejection(parsed)) return done({ status: 'rejected', reason: parsed.rejected, detail: parsed.detail }, null)
  if (!email.raw_complete) return done({ status: 'rejected', reason: 'too_large', detail: 'only the headers were downloaded' }, parsed)
  if (mailbox === null) return done({ status: 'rejected', reason: 'unsupported', detail: 'its mailbox was deleted before it was handled' }, parsed)
  const stored: StoredEmail = { id: email.id, mailboxId: email.mailbox_id, mailboxName: email.mailbox_name, raw: email.raw, memo }
  return done(await dispatch(ctx, stored, parsed, mailbox), parsed)
}

/** The mailboxes of a batch, each loaded once; one whose secrets cannot be read is that error, for its emails. */
async function mailboxesOf (ctx: AppContext, claimed: Claimed[]): Promise<Map<number, Mailbox | null | Error>> {
  const mailboxes = new Map<number, Mailbox | null | Error>()
  for (const { mailbox_id: mid } of claimed) {
    if (mid === null || mailboxes.has(mid)) continue
    mailboxes.set(mid, await loadMailbox(ctx.pool, ctx.encryptionKey, mid).catch((err: Error) => err))
  }
  return mailboxes
}

export async function handleEmails (ctx: AppContext, ids: number[]): Promise<void> {
  const claimed = await claim(ctx, ids)
  const mailboxes = await mailboxesOf(ctx, claimed)
  const mailboxOf = (email: Claimed): Mailbox | null | Error => email.mailbox_id === null ? null : mailboxes.get(email.mailbox_id) ?? null
  const parsedAt = batchParser(ctx, claimed, mailboxOf)
  const finished: Finished[] = []
  const memo = batchMemo()
  for (const [i, email] of claimed.entries()) {
    const parsed = await parsedAt(i)
    try {
      if (parsed instanceof Error) throw parsed
      const f = await handleOne(ctx, email, mailboxOf(email) as Mailbox | null, parsed, memo)
      // an outside delivery cannot be taken back: record it at once, so that a
      // crash later in the batch does not send it again
      if (f.outcome.handler === 'gitlab' || f.outcome.handler === 'webhook') await finishAll(ctx, [f])
      else finished.push(f)
    } catch (err) {
      ctx.log.warn({ emailId: email.id, mailbox: email.mailbox_name, err: { message: (err as Error).message } }, 'email handling failed')
      await fail(ctx, email, err as Error)
    }
  }
  try {
    await finishAll(ctx, finished)
  } catch {
    // one row the database refuses must not hold back the others: one by one, as failures where they fail
    for (const f of finished) await finishAll(ctx, [f]).catch(async (err: Error) => { await fail(ctx, f.email, err) })
  }
}
