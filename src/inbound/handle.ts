/**
 * email-handle: claim a batch of stored emails, parse each (mailparser, with
 * mailslot deciding `empty` and `unparsable` itself), hand it to its
 * mailbox's delivery, and record the end state. Effects are idempotent by
 * email id, so a job run twice changes nothing the second time.
 * A retryable failure is retried by a new job with backoff; after
 * MAX_ATTEMPTS the email ends `failed` (replayable).
 */
import type { AppContext } from '../runtime/context.ts'
import { loadMailbox } from '../mailboxes/repository.ts'
import type { Mailbox } from '../mailboxes/types.ts'
import { isParseRejection, parseEmail } from '../routing/parse.ts'
import type { ParsedEmail } from '../routing/types.ts'
import { dispatch } from '../handlers/dispatch.ts'
import type { Outcome, StoredEmail } from '../handlers/types.ts'
import { RetryableError } from '../handlers/types.ts'
import { send } from '../queue/boss.ts'
import { faultPoint } from '../shared/faults.ts'
import { parsedSummary } from './summary.ts'

export const MAX_ATTEMPTS = 5

interface Claimed { id: number, mailbox_id: number | null, mailbox_name: string, raw_complete: boolean, attempts: number, raw: Buffer }

/** Claims emails not yet in an end state; delivered/rejected ones are left alone (idempotence). */
async function claim (ctx: AppContext, ids: number[]): Promise<Claimed[]> {
  const { rows } = await ctx.pool.query<Claimed>(
    `WITH c AS (
       UPDATE inbound_emails SET status = 'processing', attempts = attempts + 1
       WHERE id = ANY($1::bigint[]) AND status IN ('received', 'processing')
       RETURNING id, mailbox_id, mailbox_name, raw_complete, attempts)
     SELECT c.*, r.raw FROM c JOIN inbound_email_raw r ON r.email_id = c.id ORDER BY c.id`, [ids])
  return rows
}

async function finish (ctx: AppContext, id: number, outcome: Outcome, parsed: ParsedEmail | null): Promise<void> {
  faultPoint('handle.before-finish')
  const reason = outcome.status === 'rejected' ? outcome.reason : null
  const result = outcome.status === 'delivered' ? outcome.result : (outcome.detail !== undefined ? { detail: outcome.detail } : null)
  await ctx.pool.query(
    `UPDATE inbound_emails SET status = $2, reason = $3, handler = $4, result = $5, parsed = coalesce($6, parsed),
       last_error = NULL, handled_at = now() WHERE id = $1`,
    [id, outcome.status, reason, outcome.handler ?? null, result, parsed === null ? null : parsedSummary(parsed)])
  ctx.metrics.emailsFinished.inc({ status: outcome.status })
}

async function fail (ctx: AppContext, email: Claimed, err: Error): Promise<void> {
  const retry = err instanceof RetryableError && email.attempts < MAX_ATTEMPTS
  await ctx.pool.query(
    `UPDATE inbound_emails SET status = $2, last_error = $3, handled_at = CASE WHEN $2 = 'failed' THEN now() END WHERE id = $1`,
    [email.id, retry ? 'received' : 'failed', err.message.slice(0, 2000)])
  if (retry) {
    // 2 s, 4 s, 8 s, … a new job per try keeps one email's retries from holding back a batch
    await send(ctx.boss, 'email-handle', { emailId: email.id }, { startAfter: 2 ** email.attempts })
  } else {
    ctx.metrics.emailsFinished.inc({ status: 'failed' })
  }
}

async function handleOne (ctx: AppContext, email: Claimed, mailbox: Mailbox | null): Promise<void> {
  const parsed = await parseEmail(email.raw)
  if (isParseRejection(parsed)) {
    await finish(ctx, email.id, { status: 'rejected', reason: parsed.rejected, detail: parsed.detail }, null)
    return
  }
  if (!email.raw_complete) {
    await finish(ctx, email.id, { status: 'rejected', reason: 'too_large', detail: 'only the headers were downloaded' }, parsed)
    return
  }
  if (mailbox === null) {
    await finish(ctx, email.id, { status: 'rejected', reason: 'unsupported', detail: 'its mailbox was deleted before it was handled' }, parsed)
    return
  }
  const stored: StoredEmail = { id: email.id, mailboxId: email.mailbox_id, mailboxName: email.mailbox_name, raw: email.raw }
  await finish(ctx, email.id, await dispatch(ctx, stored, parsed, mailbox), parsed)
}

export async function handleEmails (ctx: AppContext, ids: number[]): Promise<void> {
  const claimed = await claim(ctx, ids)
  const mailboxes = new Map<number, Mailbox | null>()
  for (const email of claimed) {
    const log = ctx.log.child({ emailId: email.id, mailbox: email.mailbox_name })
    try {
      const mid = email.mailbox_id
      if (mid !== null && !mailboxes.has(mid)) mailboxes.set(mid, await loadMailbox(ctx.pool, ctx.encryptionKey, mid))
      await handleOne(ctx, email, mid === null ? null : mailboxes.get(mid) ?? null)
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'email handling failed')
      await fail(ctx, email, err as Error)
    }
  }
}
