/**
 * `mailslot mailbox test NAME [--json]`: a doctor for one mailbox. Runs its
 * provider's probe (src/providers/probe.ts) with the mailbox's stored
 * settings and cursor and reports each step and what a poll would take.
 * Changes nothing: no flag, no stored email, no cursor, no health update
 * (but a connected mailbox's access token is refreshed when due, as before a
 * poll, and a grant found revoked shows as reauth_required).
 * Exit 0 when the mailbox would work, 1 when it would not.
 */
import type { AppContext } from '../context.ts'
import { loadMailbox, mailboxIdByName } from '../mailboxes/repository.ts'
import type { Mailbox } from '../mailboxes/types.ts'
import { maxBytesOf } from '../ingestion/sync.ts'
import type { PollPreview, ProbeReport } from '../providers/probe.ts'
import { probeImap } from '../providers/imap/probe.ts'
import { probeGraph } from '../providers/graph/probe.ts'
import { AppError } from '../shared/errors.ts'
import { connectionTokens } from '../oauth/connections/access-tokens.ts'

export interface MailboxTest extends ProbeReport { mailbox: string, provider: Mailbox['spec']['provider'] }

export async function testMailbox (ctx: Pick<AppContext, 'pool' | 'keyring' | 'settings' | 'boss'>, name: string): Promise<MailboxTest> {
  const mailbox = await loadMailbox(ctx.pool, ctx.keyring, await mailboxIdByName(ctx.pool, name))
  if (mailbox === null) throw new AppError('not_found', `no mailbox named "${name}"`)
  const { spec } = mailbox
  const options = { afterDelivery: spec.afterDelivery ?? 'seen', cursor: mailbox.cursor, maxBytes: maxBytesOf(ctx, mailbox) }
  const tokens = connectionTokens(ctx, mailbox.id)
  const report = spec.provider === 'graph' ? await probeGraph(spec.graph!, options, undefined, tokens) : await probeImap(spec.imap!, options, tokens)
  return { mailbox: name, provider: spec.provider, ...report }
}

function bytes (n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

function previewLine (p: PollPreview): string {
  if (p.messages === 0) return 'a poll would take no message now'
  const what = `a poll would take ${p.messages} ${p.messages === 1 ? 'message' : 'messages'}`
  const when = p.oldest === null ? '' : `, received ${p.oldest} to ${p.newest ?? ''}`
  if (p.totalBytes === null || p.largestBytes === null || p.overLimit === null) return `${what}${when}; the server tells no sizes`
  const about = p.sizes === 'approximate' ? 'about ' : ''
  const over = p.overLimit === 0
    ? `none over the ${bytes(p.limitBytes)} limit`
    : `${p.overLimit} over the ${bytes(p.limitBytes)} limit (only their headers would be kept; they would end rejected, too_large)`
  return `${what}${when}; ${about}${bytes(p.totalBytes)} in all, the largest ${about}${bytes(p.largestBytes)}; ${over}`
}

export function renderMailboxTest (r: MailboxTest): string {
  const lines = [`mailbox ${r.mailbox} (${r.provider})`]
  for (const s of r.steps) {
    lines.push(`  ${s.ok ? 'ok  ' : 'FAIL'}  ${s.step.padEnd(7)}  ${s.detail}`)
    if (s.explanation !== undefined) lines.push(`                 → ${s.explanation}`)
  }
  if (r.preview !== undefined) lines.push(previewLine(r.preview))
  lines.push(r.ok
    ? 'The mailbox would work. Nothing was changed: no flag set, nothing stored, no cursor moved.'
    : `The mailbox would not work (${r.steps[r.steps.length - 1].step} failed). Nothing was changed.`)
  return lines.join('\n') + '\n'
}
