/** Feeds raw emails through the real store and email-handle path, without a provider. */
import type { TestRuntime } from '../../helpers/runtime.ts'
import { storeFetched } from '../../../src/inbound/store.ts'
import { handleEmails } from '../../../src/inbound/handle.ts'

let seq = 0

export interface EmailRow { id: number, status: string, reason: string | null, handler: string | null, result: any }

/** Stores `raw` as if fetched from `mailbox` and handles it now; resolves to its row. */
export async function ingest (rt: TestRuntime, mailbox: { id: number, name: string }, raw: Buffer): Promise<EmailRow> {
  const ref = { key: `test-${process.pid}-${++seq}`, size: raw.length }
  const { stored } = await storeFetched(rt.ctx, mailbox, [{ ref, raw, complete: true }])
  if (stored.length !== 1) throw new Error('not stored (a duplicate?)')
  await handleEmails(rt.ctx, stored)
  return await emailRow(rt, stored[0])
}

export async function emailRow (rt: TestRuntime, id: number): Promise<EmailRow> {
  const { rows } = await rt.ctx.pool.query<EmailRow>('SELECT id, status, reason, handler, result FROM inbound_emails WHERE id = $1', [id])
  return rows[0]
}

/** A mailbox that no provider polls (unreachable host): for handler tests. */
export async function quietMailbox (
  rt: TestRuntime, name: string, address: string, extra: Record<string, unknown> = {}
): Promise<{ id: number, name: string }> {
  const res = await rt.api('POST', '/api/v1/mailboxes', {
    name, provider: 'imap', imap: { host: '127.0.0.1', port: 9, tls: 'none', user: 'x', password: 'y' }, address, ...extra
  })
  if (res.status !== 201) throw new Error(res.text)
  return { id: res.body.id, name }
}
