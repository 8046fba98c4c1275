/** Shared bits of the benchmarks: a fresh runtime on the embedded (or DATABASE_URL) PostgreSQL, medians. */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { ImapFlow, type ImapFlowOptions } from 'imapflow'
import os from 'node:os'
import path from 'node:path'
import { loadSettings } from '../../src/config/settings.ts'
import { startRuntime, type Role, type Runtime } from '../../src/runtime/start.ts'
import type { Dovecot } from '../../test/helpers/dovecot.ts'
import { createLogger } from '../../src/shared/logger.ts'
import { createPool, type Pool } from '../../src/db/pool.ts'

export interface BenchRuntime { rt: Runtime, dir: string, close: () => Promise<void> }

/**
 * A mailslot runtime for a benchmark: its own data dir, so with no
 * DATABASE_URL it runs its own embedded PostgreSQL; with DATABASE_URL, a fresh
 * database on that server.
 */
export async function benchRuntime (role: Role = 'all', env: Record<string, string> = {}): Promise<BenchRuntime> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailslot-bench-'))
  const databaseUrl = await freshBenchDatabase()
  const settings = loadSettings({ MAILSLOT_DATA_DIR: dir, PORT: '0', MAILSLOT_LOG_LEVEL: 'warn', ...(databaseUrl !== undefined ? { DATABASE_URL: databaseUrl } : {}), ...env })
  const rt = await startRuntime(settings, { role, log: createLogger('warn') })
  return { rt, dir, close: async () => { await rt.stop(); await rm(dir, { recursive: true, force: true }) } }
}

/** With DATABASE_URL set, a fresh database on that server for one benchmark; else undefined (the embedded PostgreSQL). */
export async function freshBenchDatabase (): Promise<string | undefined> {
  const server = process.env.DATABASE_URL
  if (server === undefined || server === '') return undefined
  const name = `mailslot_bench_${Date.now()}`
  const admin = createPool(server, 1)
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const u = new URL(server); u.pathname = '/' + name
  return u.toString()
}

/**
 * Untimed runs before the timed ones (BENCH_WARMUP, default 2): the first
 * passes through a code path run before V8 has compiled it, in mailslot and
 * in the baseline alike; figures are for a process in its steady state. One
 * was not enough: with bench:imap, V8 still made 96 optimizing compiles
 * (0.6–0.8 s of its compiler threads) in the first timed run after one
 * warm-up, and 57–74 in each later one (node --trace-opt).
 */
export const WARMUP_RUNS = Number(process.env.BENCH_WARMUP ?? 2)

/**
 * Runs fn; with BENCH_PROFILE=<file> set, writes a V8 CPU profile of it (the
 * last call wins): open it in Chrome DevTools or any .cpuprofile viewer.
 */
export async function profiled<T> (fn: () => Promise<T>): Promise<T> {
  const file = process.env.BENCH_PROFILE
  if (file === undefined || file === '') return await fn()
  const { Session } = await import('node:inspector/promises')
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  try {
    return await fn()
  } finally {
    const { profile } = await session.post('Profiler.stop')
    await writeFile(file, JSON.stringify(profile))
    session.disconnect()
  }
}

export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

export function percentile (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]
}

export const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** The admin API of a benchmark's runtime; throws on an error answer. */
export async function api (rt: Runtime, method: string, url: string, body?: unknown): Promise<any> {
  const res = await fetch(rt.address + url, {
    method,
    headers: { authorization: `Bearer ${rt.ctx.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`)
  return res.status === 204 ? null : await res.json()
}

/** How often a benchmark's harness looks whether a run is done: each look is a query on the measured database. */
export const HARNESS_POLL_MS = 250

/**
 * When the last email of a mailbox reached its end state, by the database's
 * clock (handled_at): the timed span ends there, however often the harness
 * looks (every HARNESS_POLL_MS, so as not to load the machine it measures).
 */
export async function lastHandledAt (pool: Pool, mailboxName: string): Promise<number> {
  const { rows } = await pool.query<{ at: Date }>('SELECT max(handled_at) AS at FROM inbound_emails WHERE mailbox_name = $1', [mailboxName])
  return rows[0].at.getTime()
}

/**
 * An IMAP mailbox on a fresh Dovecot user, polled only on request (no
 * scheduled sync during a run), whose first sync has found the folder empty;
 * then `emails` are put in its INBOX. Resolves when a poll request would find them.
 */
export async function onDemandMailbox (
  rt: Runtime, imap: Dovecot, name: string, delivery: Record<string, unknown>, emails: Buffer[]
): Promise<void> {
  const u = imap.addUser()
  await api(rt, 'POST', '/api/v1/mailboxes', {
    name,
    provider: 'imap',
    imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password },
    address: 'incoming+%{key}@example.com',
    delivery,
    pollIntervalSeconds: 86400
  })
  await waitUntil('the first sync', async () => (await api(rt, 'GET', `/api/v1/mailboxes/${name}`)).health.state === 'ok', 300_000, 50)
  await imap.appendMany(u.user, 'INBOX', emails)
}

export async function waitUntil (what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** The baselines' first step: every message of INBOX in one bulk imapflow FETCH. */
export async function bulkFetch (imap: ImapFlowOptions): Promise<Buffer[]> {
  const client = new ImapFlow({ ...imap, logger: false, disableAutoIdle: true })
  client.on('error', () => {})
  await client.connect()
  const raws: Buffer[] = []
  try {
    const lock = await client.getMailboxLock('INBOX')
    try {
      for (const m of await client.fetchAll('1:*', { uid: true, source: true })) if (m.source !== undefined) raws.push(m.source)
    } finally { lock.release() }
  } finally { await client.logout().catch(() => client.close()) }
  return raws
}

/** The environment of a benchmark's mailslot child process (`databaseUrl` unset: its own embedded PostgreSQL). */
export function childEnv (dataDir: string, token: string, databaseUrl: string | undefined): Record<string, string> {
  return {
    MAILSLOT_DATA_DIR: dataDir,
    MAILSLOT_ADMIN_TOKEN: token,
    MAILSLOT_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    // info, the default: startServer waits for the "mailslot started" line
    MAILSLOT_LOG_LEVEL: 'info',
    ...(databaseUrl !== undefined ? { DATABASE_URL: databaseUrl } : {})
  }
}
