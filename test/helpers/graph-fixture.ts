/** The HTTPS fake of Graph + a mailslot runtime + a Graph mailbox pointing at it. */
import type { Test } from 'tap'
import { freePort } from '../../src/db/embedded.ts'
import { startFakeGraph, type FakeGraph, type FakeGraphOptions, type MailboxHandle } from '../fakes/graph/index.ts'
import type { WorkerOptions } from '../../src/runtime/workers.ts'
import { startTestRuntime, type TestRuntime } from './runtime.ts'
import { countRows } from './rows.ts'

export interface GraphFixture { fake: FakeGraph, rt: TestRuntime, publicUrl?: string }

export interface FixtureOptions {
  /** Set MAILSLOT_PUBLIC_URL to the runtime's own address (or to this URL). Default false: polling only. */
  webhook?: boolean | string
  env?: Record<string, string>
  fake?: FakeGraphOptions
  databaseUrl?: string
  workers?: WorkerOptions
}

export async function graphFixture (t: Test, opts: FixtureOptions = {}): Promise<GraphFixture> {
  const fake = await startFakeGraph(opts.fake)
  t.teardown(async () => await fake.close())
  // the public URL must be known before start: pick the port first
  const port = await freePort()
  const publicUrl = typeof opts.webhook === 'string' ? opts.webhook : (opts.webhook === true ? `http://127.0.0.1:${port}` : undefined)
  const env: Record<string, string> = {
    PORT: String(port), ...(publicUrl !== undefined ? { MAILSLOT_PUBLIC_URL: publicUrl } : {}), ...opts.env
  }
  const rt = await startTestRuntime(t, { env, databaseUrl: opts.databaseUrl, workers: opts.workers })
  return { fake, rt, publicUrl }
}

export function graphMailbox (fake: FakeGraph, box: MailboxHandle, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `graph-${box.upn.split('@')[0]}`,
    provider: 'graph',
    mode: 'webhook',
    graph: {
      tenantId: fake.tenantId, clientId: fake.clientId, clientSecret: fake.clientSecret, user: box.upn, folder: 'Inbox',
      authorityHost: fake.url, baseUrl: fake.url
    },
    address: 'incoming+%{key}@example.com',
    delivery: { kind: 'builtin' },
    ...over
  }
}

/** Each stored once, handled once, ended delivered or rejected (not the builtin handler's verdict itself). */
export async function handledOnce (t: Test, rt: TestRuntime, mailbox: string, expected: number): Promise<void> {
  const q = async (where: string): Promise<number> => await countRows(rt, `SELECT count(*)::int AS n FROM inbound_emails WHERE mailbox_name = $1 ${where}`, [mailbox])
  t.equal(await q(''), expected, 'one row per message')
  t.equal(await countRows(rt, 'SELECT count(DISTINCT message_id)::int AS n FROM inbound_emails WHERE mailbox_name = $1', [mailbox]), expected, 'distinct Message-IDs')
  t.equal(await countRows(rt, 'SELECT count(DISTINCT provider_key)::int AS n FROM inbound_emails WHERE mailbox_name = $1', [mailbox]), expected, 'distinct Graph ids')
  const once = await q(`AND status IN ('delivered', 'rejected') AND attempts = 1`)
  t.equal(once, expected, 'each ended after one attempt')
  if (once !== expected) {
    const { rows } = await rt.ctx.pool.query(`SELECT status, attempts, reason, last_error, count(*)::int AS n FROM inbound_emails
      WHERE mailbox_name = $1 GROUP BY 1, 2, 3, 4`, [mailbox])
    t.comment(JSON.stringify(rows))
  }
}

/** mailbox-sync jobs with this reason, as pg-boss recorded them. */
export async function syncJobs (rt: TestRuntime, reason: string, since = new Date(0)): Promise<number> {
  return await countRows(rt, `SELECT count(*)::int AS n FROM mailslot_boss.job WHERE name = 'mailbox-sync' AND data->>'reason' = $1 AND created_on >= $2`, [reason, since])
}

export async function view (rt: TestRuntime, name: string): Promise<any> {
  const res = await rt.api('GET', `/api/v1/mailboxes/${name}`)
  if (res.status !== 200) throw new Error(`GET mailbox ${name}: ${res.status} ${res.text}`)
  return res.body
}
