/** IMAP push mailboxes behind a counting proxy, and what the tests read back about them. */
import type { Test } from 'tap'
import type { Dovecot } from '../../helpers/dovecot.ts'
import { startImapProxy, type ImapProxy } from '../../helpers/imap-proxy.ts'
import type { TestRuntime } from '../../helpers/runtime.ts'
import { countRows } from '../../helpers/rows.ts'
import { BOSS_SCHEMA } from '../../../src/queue/boss.ts'

export interface PushBox {
  spec: Record<string, any>
  user: string
  /** Counts this mailbox's connections only. */
  proxy: ImapProxy
}

/**
 * A Dovecot user and its mailbox with `imap.push` on and polls an hour apart,
 * reached through a proxy of its own (`host`: another name for it, for the
 * per-host cap).
 */
export async function pushBox (t: Test, imap: Dovecot, o: { host?: string } = {}): Promise<PushBox> {
  const u = imap.addUser()
  const proxy = await startImapProxy(imap)
  t.teardown(proxy.close)
  const spec = {
    name: `push-${u.user.split('@')[0]}`,
    provider: 'imap',
    imap: { host: o.host ?? proxy.host, port: proxy.port, tls: 'none', user: u.user, password: u.password, connectTimeoutSeconds: 5, push: true },
    address: 'incoming+%{key}@example.com',
    delivery: { kind: 'builtin' },
    pollIntervalSeconds: 3600
  }
  return { spec, user: u.user, proxy }
}

/** Syncs of the mailbox waiting or running. */
export async function syncsPending (rt: TestRuntime, mailboxId: number): Promise<number> {
  return await countRows(rt, `SELECT count(*)::int AS n FROM ${BOSS_SCHEMA}.job WHERE name = 'mailbox-sync' AND data->>'mailboxId' = $1
    AND state IN ('created', 'retry', 'active')`, [String(mailboxId)])
}

/** Syncs of the mailbox that push queued, in any state. */
export async function pushSyncs (rt: TestRuntime, mailboxId: number): Promise<number> {
  return await countRows(rt, `SELECT count(*)::int AS n FROM ${BOSS_SCHEMA}.job WHERE name = 'mailbox-sync' AND data->>'mailboxId' = $1
    AND data->>'reason' = 'push'`, [String(mailboxId)])
}

/** The holder of the mailbox's live lease, or null. */
export async function leaseHolder (rt: TestRuntime, mailboxId: number): Promise<string | null> {
  const { rows } = await rt.ctx.pool.query<{ holder: string }>('SELECT holder FROM imap_push_leases WHERE mailbox_id = $1 AND expires_at > now()', [mailboxId])
  return rows[0]?.holder ?? null
}

/** Emails of the mailbox in an end state, and when the last one got there (ms). */
export async function handled (rt: TestRuntime, mailbox: string): Promise<{ n: number, lastAt: number }> {
  const { rows } = await rt.ctx.pool.query<{ n: number, at: Date | null }>(
    `SELECT count(*)::int AS n, max(handled_at) AS at FROM inbound_emails WHERE mailbox_name = $1 AND status IN ('delivered', 'rejected', 'failed')`, [mailbox])
  return { n: rows[0].n, lastAt: rows[0].at?.getTime() ?? 0 }
}
