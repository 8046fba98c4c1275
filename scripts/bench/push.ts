/**
 * npm run bench:push — IMAP push (imap.push: true, polls an hour apart) with
 * two mailslot processes (`start` and `start --role worker`) on one
 * PostgreSQL, against a private Dovecot. Each mailbox is reached through a
 * proxy that counts its connections and IDLE commands at the server's door.
 *
 * 1. One holder: BENCH_MAILBOXES (4) push mailboxes, sampled every 100 ms
 *    for BENCH_HOLD_SECONDS (10): each must have exactly one IDLE connection.
 * 2. Latency: BENCH_MESSAGES (30) single emails APPENDed one at a time into
 *    the first mailbox, each once the previous one is handled (after 3
 *    warm-up emails): APPEND → handled (handled_at, set by PostgreSQL).
 *    Baseline in the same run, on the same APPENDs: APPEND → EXISTS at a bare
 *    imapflow client idling on the same folder, i.e. the server's own
 *    notification delay, which no IDLE client can beat.
 * 3. Takeover: the process holding the first mailbox is SIGKILLed; time until
 *    the other one holds every lease it had and idles on it; then one more
 *    email, handled.
 * Targets: p50 < 1 s, p90 < 2 s; exactly one IDLE connection per mailbox;
 * takeover < 30 s.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { ImapFlow } from 'imapflow'
import { createPool, type Pool } from '../../src/db/pool.ts'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { startServer, type Server } from '../../test/helpers/cli.ts'
import { startDovecot } from '../../test/helpers/dovecot.ts'
import { makeEmail } from '../../test/helpers/emails.ts'
import { startImapProxy, type ImapProxy } from '../../test/helpers/imap-proxy.ts'
import { HARNESS_POLL_MS, childEnv, freshBenchDatabase, percentile, sleep, waitUntil } from './common.ts'
import { reportResult } from './result.ts'

const MAILBOXES = Number(process.env.BENCH_MAILBOXES ?? 4)
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 30)
const HOLD_SECONDS = Number(process.env.BENCH_HOLD_SECONDS ?? 10)
const WARMUP = 3

const say = (line: string): void => { process.stdout.write(line + '\n') }
const dir = await mkdtemp(path.join(os.tmpdir(), 'mailslot-bench-push-'))
const imap = await startDovecot()
const databaseUrl = await freshBenchDatabase()
const token = randomBytes(18).toString('base64url')
const env = childEnv(dir, token, databaseUrl)
const processes: Server[] = []
const proxies: ImapProxy[] = []
const clients: ImapFlow[] = []
let embedded: Awaited<ReturnType<typeof startEmbeddedDatabase>> | undefined
let pool: Pool | undefined

async function api (method: string, url: string, body?: unknown): Promise<any> {
  const res = await fetch(processes[0].address + url, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`)
  return await res.json()
}

const pidOf = (holder: string): number => Number(holder.split(':').at(-2))

async function holders (db: Pool): Promise<Map<number, string>> {
  const { rows } = await db.query<{ id: number, holder: string }>('SELECT mailbox_id AS id, holder FROM imap_push_leases WHERE expires_at > now()')
  return new Map(rows.map(r => [r.id, r.holder]))
}

async function handled (db: Pool, name: string): Promise<{ n: number, at: number }> {
  const { rows } = await db.query<{ n: number, at: Date | null }>(
    `SELECT count(*)::int AS n, max(handled_at) AS at FROM inbound_emails WHERE mailbox_name = $1 AND status IN ('delivered', 'rejected', 'failed')`, [name])
  return { n: rows[0].n, at: rows[0].at?.getTime() ?? 0 }
}

/** APPENDs one email and resolves to the ms until it was handled. */
async function appendAndTime (db: Pool, appender: ImapFlow, name: string, i: number): Promise<{ handledMs: number, appendedAt: number }> {
  const before = (await handled(db, name)).n
  const appendedAt = Date.now()
  await appender.append('INBOX', makeEmail(i))
  let done = await handled(db, name)
  for (const deadline = Date.now() + 120_000; done.n <= before; done = await handled(db, name)) {
    if (Date.now() > deadline) throw new Error(`email ${i} not handled after 120 s`)
    await sleep(HARNESS_POLL_MS)
  }
  return { handledMs: done.at - appendedAt, appendedAt }
}

try {
  // the second process joins the first one's embedded PostgreSQL (same data dir), and so does this one
  processes.push(await startServer(env))
  processes.push(await startServer(env, ['--role', 'worker']))
  embedded = databaseUrl === undefined ? await startEmbeddedDatabase(dir) : undefined
  pool = createPool(databaseUrl ?? embedded!.url, 2)
  const db = pool
  const boxes: Array<{ id: number, name: string, user: string, proxy: ImapProxy }> = []
  for (let i = 0; i < MAILBOXES; i++) {
    const u = imap.addUser()
    const proxy = await startImapProxy(imap)
    proxies.push(proxy)
    const name = `push-${i}`
    const view = await api('POST', '/api/v1/mailboxes', {
      name, provider: 'imap', address: 'incoming+%{key}@example.com', delivery: { kind: 'builtin' }, pollIntervalSeconds: 3600,
      imap: { host: proxy.host, port: proxy.port, tls: 'none', user: u.user, password: u.password, push: true }
    })
    boxes.push({ id: view.id, name, user: u.user, proxy })
  }
  await waitUntil('every mailbox idling', async () => boxes.every(b => b.proxy.idling() === 1), 180_000, 100)
  // the syncs queued at creation and when each connection opened end
  await waitUntil('the first syncs done', async () => boxes.every(b => b.proxy.open() === 1), 60_000, 100)

  // 1. one holder
  let low = Infinity; let high = 0
  for (const end = Date.now() + HOLD_SECONDS * 1000; Date.now() < end; await sleep(100)) {
    for (const b of boxes) { low = Math.min(low, b.proxy.idling()); high = Math.max(high, b.proxy.idling()) }
  }
  const held = await holders(db)
  const perProcess = processes.map(p => [...held.values()].filter(h => pidOf(h) === p.child.pid).length)
  const oneHolder = low === 1 && high === 1 && held.size === MAILBOXES

  // 2. latency, with the baseline on the same APPENDs
  const first = boxes[0]
  const appender = await imap.client(first.user, { imap: { disableAutoIdle: true } })
  const bare = await imap.client(first.user, { imap: { disableAutoIdle: true } })
  clients.push(appender, bare)
  await bare.mailboxOpen('INBOX', { readOnly: true })
  let existsAt = 0
  bare.on('exists', () => { existsAt = Date.now() })
  bare.idle().catch(() => {})
  const latencies: number[] = []; const baseline: number[] = []
  for (let i = 0; i < WARMUP + MESSAGES; i++) {
    existsAt = 0
    const { handledMs, appendedAt } = await appendAndTime(db, appender, first.name, i)
    if (i < WARMUP) continue
    latencies.push(handledMs)
    if (existsAt > 0) baseline.push(existsAt - appendedAt)
  }

  // 3. takeover
  const victim = processes.find(p => p.child.pid === pidOf(held.get(first.id)!))!
  const orphaned = [...held].filter(([, h]) => pidOf(h) === victim.child.pid).map(([id]) => id)
  const killedAt = Date.now()
  await victim.stop('SIGKILL')
  await waitUntil('the takeover', async () => {
    const now = await holders(db)
    return orphaned.every(id => now.has(id) && pidOf(now.get(id)!) !== victim.child.pid) && boxes.every(b => b.proxy.idling() === 1)
  }, 120_000, 100)
  const takeoverMs = Date.now() - killedAt
  const after = await appendAndTime(db, appender, first.name, 10_000)

  const fmt = (n: number): string => `${n.toFixed(0)} ms`
  const [p50, p90] = [percentile(latencies, 50), percentile(latencies, 90)]
  say(`\nbench:push — 2 processes, ${MAILBOXES} push mailboxes, polls an hour apart; ${MESSAGES} single emails (after ${WARMUP} warm-up), one at a time`)
  say(`  APPEND → handled: p50 ${fmt(p50)} (target < 1000), p90 ${fmt(p90)} (target < 2000), max ${fmt(Math.max(...latencies))}`)
  if (baseline.length > 0) {
    const b50 = percentile(baseline, 50)
    say(`  baseline, APPEND → EXISTS at a bare IDLE client: p50 ${fmt(b50)}, p90 ${fmt(percentile(baseline, 90))}; mailslot adds ${fmt(p50 - b50)} at p50 (queue, sync login, fetch, store, handle)`)
  }
  say(`  IDLE connections per mailbox over ${HOLD_SECONDS} s: min ${low}, max ${high} (target exactly 1); leases per process: ${perProcess.join(' + ')}`)
  say(`  takeover after SIGKILL of the holder of ${orphaned.length} mailbox(es): ${(takeoverMs / 1000).toFixed(1)} s (target < 30 s); then new mail handled in ${fmt(after.handledMs)}`)
  const ok = p50 < 1000 && p90 < 2000 && oneHolder && takeoverMs < 30_000
  say(ok ? 'targets met' : 'targets NOT met')
  reportResult({
    benchmark: 'push',
    figure: `p50 ${fmt(p50)}, p90 ${fmt(p90)}; IDLE connections per mailbox ${low}–${high}; takeover ${(takeoverMs / 1000).toFixed(1)} s`,
    baseline: baseline.length > 0 ? `p50 ${fmt(percentile(baseline, 50))} (APPEND → EXISTS, bare IDLE client)` : null,
    ratio: null,
    target: 'p50 < 1 s, p90 < 2 s, exactly 1 IDLE connection per mailbox, takeover < 30 s',
    met: ok
  })
  process.exitCode = ok ? 0 : 1
} finally {
  for (const c of clients) c.close()
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) await p.stop()
  for (const p of proxies) await p.close()
  await pool?.end()
  await embedded?.stop()
  await imap.stop()
  await rm(dir, { recursive: true, force: true })
}
