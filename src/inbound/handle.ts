/**
 * email-handle: claim a batch of stored emails, parse each (mailparser, with
 * mailslot deciding `empty` and `unparsable` itself), hand it to its
 * mailbox's delivery, and record the end state. Effects are idempotent by
 * email id, so a job run twice changes nothing the second time.
 * A retryable failure is retried by a new job with backoff; after
 * MAX_ATTEMPTS the email ends `failed` (replayable).
 *
 * The built-in store's emails are parsed one after another, handled
 * together in the order they arrived (handleBuiltinBatch: a reply may need
 * the issue the email before it created), and recorded together at the end.
 * Emails of outside deliveries (gitlab, webhook) go out DELIVERIES_IN_FLIGHT
 * at a time, each recorded as soon as its answer is in (endStateRecorder,
 * group commits), so a crash later does not resend it; a slot sends its next
 * email while the last one's end state is being committed.
 */
import pMap from 'p-map'
import type { AppContext } from '../context.ts'
import { loadMailbox } from '../mailboxes/repository.ts'
import type { Mailbox } from '../mailboxes/types.ts'
import { isParseRejection } from '../parsing/parse.ts'
import type { ParsedEmail } from '../parsing/types.ts'
import { dispatch } from '../handlers/dispatch.ts'
import { handleBuiltinBatch, type BuiltinEmail } from '../handlers/builtin/index.ts'
import { batchMemo, type BatchMemo, type StoredEmail } from '../handlers/types.ts'
import type { Outcome } from './lifecycle.ts'
import { batchParses, type ParseResult } from './parse-stored.ts'
import { claim, sharedEndStateRecorder, fail, recordAll, type Claimed, type Finished } from './email-states.ts'
import { asError } from '../shared/errors.ts'

/** Outside deliveries in flight per batch: each waits on its endpoint's round trip. */
export const DELIVERIES_IN_FLIGHT = 8

type Parse = (email: Claimed, mailbox: Mailbox | null) => Promise<ParseResult>

/** An email parsed and ready for its mailbox's delivery. */
interface Ready extends BuiltinEmail { claimed: Claimed }

/** Parses one email; what needs no delivery ends here (Finished), the rest is Ready. */
async function prepare (
  email: Claimed, mailbox: Mailbox | null, memo: BatchMemo, parse: Parse, parses: Map<number, ParsedEmail>
): Promise<Finished | Ready> {
  const parsed = await parse(email, mailbox)
  if (!isParseRejection(parsed)) parses.set(email.id, parsed)
  const done = (outcome: Outcome, p: ParsedEmail | null): Finished => ({ email, outcome, parsed: p })
  if (isParseRejection(parsed)) return done({ status: 'rejected', reason: parsed.rejected, detail: parsed.detail }, null)
  if (!email.raw_complete) return done({ status: 'rejected', reason: 'too_large', detail: 'only the headers were downloaded' }, parsed)
  if (mailbox === null) return done({ status: 'rejected', reason: 'unsupported', detail: 'its mailbox was deleted before it was handled' }, parsed)
  const stored: StoredEmail = { id: email.id, mailboxId: email.mailbox_id, mailboxName: email.mailbox_name, raw: email.raw, memo }
  return { claimed: email, email: stored, parsed, mailbox }
}

const isReady = (p: Finished | Ready): p is Ready => 'claimed' in p

/** The mailboxes of a batch, each loaded once; one whose secrets cannot be read is that error, for its emails. */
async function mailboxesOf (ctx: AppContext, claimed: Claimed[]): Promise<Map<number, Mailbox | null | Error>> {
  const mailboxes = new Map<number, Mailbox | null | Error>()
  for (const { mailbox_id: mid } of claimed) {
    if (mid === null || mailboxes.has(mid)) continue
    mailboxes.set(mid, await loadMailbox(ctx.pool, ctx.keyring, mid).catch((err: unknown) => asError(err)))
  }
  return mailboxes
}

const isOutside = (mailbox: Mailbox | null | Error): boolean => {
  const kind = mailbox instanceof Error ? undefined : mailbox?.spec.delivery?.kind
  return kind === 'gitlab' || kind === 'webhook'
}

export async function handleEmails (ctx: AppContext, ids: number[]): Promise<void> {
  const claimed = await claim(ctx, ids)
  const mailboxes = await mailboxesOf(ctx, claimed)
  const mailboxOf = (email: Claimed): Mailbox | null | Error => email.mailbox_id === null ? null : mailboxes.get(email.mailbox_id) ?? null
  const memo = batchMemo()
  const parse = batchParses(ctx.parseLane, claimed, mailboxOf)
  // kept for a delivery that fails: a failed email still shows its subject and sender
  const parses = new Map<number, ParsedEmail>()
  /** A failure is recorded (retry or `failed`). */
  const failed = async (email: Claimed, err: unknown): Promise<void> => {
    const e = asError(err)
    ctx.log.warn({ emailId: email.id, mailbox: email.mailbox_name, err: e }, 'email handling failed')
    await fail(ctx, email, e, parses.get(email.id))
  }
  /** Parses one email; a failure is recorded and gives null. */
  const prepared = async (email: Claimed): Promise<Finished | Ready | null> => {
    try {
      const mailbox = mailboxOf(email)
      if (mailbox instanceof Error) throw mailbox
      return await prepare(email, mailbox, memo, parse, parses)
    } catch (err) {
      await failed(email, err)
      return null
    }
  }

  /** Hands a ready email to its outside delivery; a failure is recorded and gives null. */
  const delivered = async (p: Ready): Promise<Finished | null> => {
    try {
      return { email: p.claimed, outcome: await dispatch(ctx, p.email, p.parsed, p.mailbox), parsed: p.parsed }
    } catch (err) {
      await failed(p.claimed, err)
      return null
    }
  }

  const outside = claimed.filter(e => isOutside(mailboxOf(e)))
  const local = claimed.filter(e => !isOutside(mailboxOf(e)))
  const recorder = sharedEndStateRecorder(ctx)
  const recorded: Array<Promise<void>> = []
  // settled both before a failure is reported: a job retried while half of it still ran would send twice
  const results = await Promise.allSettled([
    pMap(outside, async (email) => {
      const p = await prepared(email)
      const f = p === null || !isReady(p) ? p : await delivered(p)
      if (f === null) return
      // recorded with the next group commit; the slot sends its next email meanwhile
      const record = recorder.record(f)
      record.catch(() => {}) // reported below, once every record is settled
      recorded.push(record)
    }, { concurrency: DELIVERIES_IN_FLIGHT, stopOnError: false }),
    (async () => {
      const finished: Finished[] = []
      const ready: Ready[] = []
      for (const email of local) {
        const p = await prepared(email)
        if (p !== null && isReady(p)) ready.push(p)
        else if (p !== null) finished.push(p)
      }
      const outcomes = await handleBuiltinBatch(ctx, ready)
      for (const [i, r] of ready.entries()) {
        const outcome = outcomes[i]
        if (outcome instanceof Error) await failed(r.claimed, outcome)
        else finished.push({ email: r.claimed, outcome, parsed: r.parsed })
      }
      await recordAll(ctx, finished)
    })()
  ])
  for (const r of [...results, ...await Promise.allSettled(recorded)]) if (r.status === 'rejected') throw r.reason
}
