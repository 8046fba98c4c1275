/**
 * The states email-handle writes on inbound_emails: the claim (with the raw
 * bytes), end states recorded a batch at a time, and failures (retried with
 * backoff while retryable, transient database errors included, else `failed`).
 */
import type { AppContext } from '../context.ts'
import type { ParsedEmail } from '../parsing/types.ts'
import { RetryableError, type Outcome } from './lifecycle.ts'
import { send } from '../queue/boss.ts'
import { faultPoint } from '../shared/faults.ts'
import { parsedSummary } from './summary.ts'
import { RAW_SLICE_BYTES, readRawInSlices } from './raw-reader.ts'
import { asError } from '../shared/errors.ts'
import { isTransientDbError } from '../db/transient.ts'

export const MAX_ATTEMPTS = 5

export interface Claimed {
  id: number, mailbox_id: number | null, mailbox_name: string, raw_complete: boolean, attempts: number, raw: Buffer, checksum: string
}

interface ClaimRow extends Omit<Claimed, 'raw'> { raw_size: number | null, raw: Buffer | null }

/**
 * Claims emails not yet in an end state (delivered/rejected ones are left
 * alone: idempotence) and reads their raw bytes, in one statement: those this
 * process has just stored come from ctx.recentRaws instead, and a raw over
 * RAW_SLICE_BYTES is read afterwards in slices (raw-reader.ts).
 * (The bytes travel as hex text: node-pg's `binary` result mode reads every
 * column as UTF-8 text, which would corrupt them.)
 */
export async function claim (ctx: AppContext, ids: number[]): Promise<Claimed[]> {
  if (ids.length === 0) return []
  // taken out: a retry or a replay reads the database
  const recent = new Map<number, Buffer>()
  for (const id of ids) {
    const raw = ctx.recentRaws.get(id)
    if (raw !== undefined) { recent.set(id, raw); ctx.recentRaws.delete(id) }
  }
  // octet_length of a stored bytea reads its size, not its bytes
  const { rows } = await ctx.pool.query<ClaimRow>(
    `WITH claimed AS (
             UPDATE inbound_emails SET status = 'processing', attempts = attempts + 1
             WHERE id = ANY($1::bigint[]) AND status IN ('received', 'processing')
             RETURNING id, mailbox_id, mailbox_name, raw_complete, attempts, encode(checksum, 'hex') AS checksum, octet_length(raw) AS raw_size,
                       CASE WHEN id = ANY($2::bigint[]) THEN NULL WHEN octet_length(raw) <= ${RAW_SLICE_BYTES} THEN raw END AS raw)
           SELECT * FROM claimed ORDER BY id`,
    [ids, [...recent.keys()]])
  const claimed: Claimed[] = []
  for (const r of rows) {
    if (r.raw_size === null) throw new Error(`email ${r.id} has no raw message`)
    const raw = recent.get(r.id) ?? r.raw ?? await readRawInSlices(ctx.pool, r.id, r.raw_size)
    claimed.push({
      id: r.id, mailbox_id: r.mailbox_id, mailbox_name: r.mailbox_name, raw_complete: r.raw_complete,
      attempts: r.attempts, checksum: r.checksum, raw
    })
  }
  return claimed
}

export interface Finished { email: Claimed, outcome: Outcome, parsed: ParsedEmail | null }

/**
 * Records the end states of a batch in one statement: one commit (one WAL
 * flush) per batch instead of one per email. An email whose effects ran but
 * whose end state was not written yet stays `processing`; its job is retried
 * and the effects, idempotent by email id, are not repeated.
 * The batch travels as one JSON document: no array literal to escape per row.
 */
export async function finishAll (ctx: AppContext, done: Finished[]): Promise<void> {
  if (done.length === 0) return
  faultPoint('handle.before-finish')
  const result = (o: Outcome): unknown => o.status === 'delivered' ? o.result : (o.detail !== undefined ? { detail: o.detail } : null)
  const rows = done.map(d => ({
    id: d.email.id,
    status: d.outcome.status,
    reason: d.outcome.status === 'rejected' ? d.outcome.reason : null,
    handler: d.outcome.handler ?? null,
    result: result(d.outcome),
    parsed: d.parsed === null ? null : parsedSummary(d.parsed)
  }))
  await ctx.pool.query(
    `UPDATE inbound_emails e SET status = f.status, reason = f.reason, handler = f.handler, result = f.result,
       parsed = coalesce(f.parsed, e.parsed), last_error = NULL, handled_at = now()
     FROM jsonb_to_recordset($1::jsonb) AS f(id bigint, status text, reason text, handler text, result jsonb, parsed jsonb)
     WHERE e.id = f.id`,
    [jsonWithoutNul(rows)])
  for (const d of done) ctx.metrics.emailsFinished.inc({ status: d.outcome.status })
}

/**
 * JSON text PostgreSQL's jsonb accepts: it cannot hold NUL (U+0000), which a
 * hostile header may carry, so each escaped NUL is dropped. An escaped
 * backslash followed by the letters "u0000" is text, and stays.
 */
function jsonWithoutNul (value: unknown): string {
  return JSON.stringify(value).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1')
}

/** Worth another try: a RetryableError, or a database error that passes by itself (a restart, a deadlock). */
export function isRetryable (err: Error): boolean {
  return err instanceof RetryableError || isTransientDbError(err)
}

/** Records a failure: retried later, or `failed` for good; `parsed`, when the email was read before it failed, is kept. */
export async function fail (ctx: AppContext, email: Claimed, err: Error, parsed?: ParsedEmail): Promise<void> {
  const retry = isRetryable(err) && email.attempts < MAX_ATTEMPTS
  await ctx.pool.query(
    `UPDATE inbound_emails SET status = $2, last_error = $3, handled_at = CASE WHEN $2 = 'failed' THEN now() END,
       parsed = coalesce($4::jsonb, parsed) WHERE id = $1`,
    [email.id, retry ? 'received' : 'failed', err.message.slice(0, 2000), parsed === undefined ? null : jsonWithoutNul(parsedSummary(parsed))])
  if (retry) {
    // base × 1, 2, 4, 8 (2 s, 4 s, 8 s, 16 s by default), or longer if the endpoint
    // asked (Retry-After); a new job per try keeps one email's retries from holding back a batch
    const backoff = ctx.settings.handleRetryBaseSeconds * 2 ** (email.attempts - 1)
    const asked = err instanceof RetryableError ? err.retryAfterSeconds ?? 0 : 0
    await send(ctx.boss, 'email-handle', { emailIds: [email.id] }, { startAfter: Math.max(backoff, asked) })
  } else {
    ctx.metrics.emailsFinished.inc({ status: 'failed' })
  }
}

const shared = new WeakMap<AppContext, ReturnType<typeof endStateRecorder>>()

/** The process's one recorder for `ctx`: the handle calls at work at once share its group commits. */
export function sharedEndStateRecorder (ctx: AppContext): ReturnType<typeof endStateRecorder> {
  let recorder = shared.get(ctx)
  if (recorder === undefined) shared.set(ctx, recorder = endStateRecorder(ctx))
  return recorder
}

/**
 * Records end states as they come, a batch at a time: while one UPDATE is in
 * flight, the outcomes that arrive meanwhile wait and go together in the
 * next. Outside deliveries use it: each is recorded as soon as possible (a
 * crash later does not send it again) without one commit per email.
 */
export function endStateRecorder (ctx: AppContext): { record: (f: Finished) => Promise<void> } {
  let waiting: Array<{ f: Finished, settle: (err?: Error) => void }> = []
  let flushing: Promise<void> | undefined
  const flush = async (): Promise<void> => {
    try {
      while (waiting.length > 0) {
        const group = waiting
        waiting = []
        const err = await recordAll(ctx, group.map(g => g.f)).then(() => undefined, (e: unknown) => asError(e))
        for (const g of group) g.settle(err)
      }
    } finally {
      flushing = undefined
    }
  }
  return {
    record: async (f) => {
      const recorded = new Promise<void>((resolve, reject) => {
        waiting.push({ f, settle: err => { if (err === undefined) resolve(); else reject(err) } })
      })
      flushing ??= flush()
      await recorded
    }
  }
}

/** finishAll, and if the database refuses the group, one by one: a refused row fails that email alone. */
export async function recordAll (ctx: AppContext, finished: Finished[]): Promise<void> {
  try {
    await finishAll(ctx, finished)
  } catch {
    for (const f of finished) await finishAll(ctx, [f]).catch(async (err: unknown) => { await fail(ctx, f.email, asError(err)) })
  }
}
