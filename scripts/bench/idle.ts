/**
 * npm run bench:idle — what idle IMAP mailboxes cost: BENCH_IDLE_MAILBOXES
 * (200) mailboxes on a private Dovecot, each with its own user and no mail,
 * set to `pollIntervalSeconds` BENCH_POLL_INTERVAL_SECONDS (10), served by one
 * `mailslot start` process (a child of this one) on its embedded PostgreSQL.
 * After BENCH_SETTLE_SECONDS (60) of settling, measured for
 * BENCH_MEASURE_SECONDS (180):
 * - CPU of the whole process tree: the mailslot process and its children, and
 *   the embedded PostgreSQL's postmaster and every backend (/proc, reaped
 *   children included), as % of one core per poll/s (= CPU-seconds per poll × 100);
 * - RSS growth of the mailslot process;
 * - PostgreSQL client connections to its database (pg_stat_activity), sampled;
 * - polls done against polls configured (changes of mailboxes.last_poll_at,
 *   sampled every SAMPLE_MS, under half the interval so no poll is missed);
 * - PostgreSQL transactions per poll (pg_stat_database xact_commit +
 *   xact_rollback, less this harness's own).
 * Then, for STATEMENT_INTERVALS more poll intervals (not in the CPU figure:
 * logging costs CPU), `log_statement = all` on the server (ALTER SYSTEM; the
 * harness's own session exempt) gives the statements per poll, counted from
 * the server's log. With DATABASE_URL, PostgreSQL is not ours: the CPU figure
 * is mailslot's process alone and statements are not counted.
 * Targets: ≤ 0.5 % of one core per poll/s, RSS growth < 20 MB, connections flat
 * (the mean of the window's second half of samples no more than one above
 * its first half's).
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { startServer, type Server } from '../../test/helpers/cli.ts'
import { startDovecot } from '../../test/helpers/dovecot.ts'
import { childEnv, freshBenchDatabase, sleep } from './common.ts'
import { rssOf, treeCpuSeconds } from './cpu.ts'
import { reportResult } from './result.ts'

const MAILBOXES = Number(process.env.BENCH_IDLE_MAILBOXES ?? 200)
const INTERVAL = Number(process.env.BENCH_POLL_INTERVAL_SECONDS ?? 10)
const SETTLE = Number(process.env.BENCH_SETTLE_SECONDS ?? 60)
const MEASURE = Number(process.env.BENCH_MEASURE_SECONDS ?? 180)
const SAMPLE_MS = Math.min(5000, INTERVAL * 1000 / 2)
const STATEMENT_INTERVALS = 3
const TARGET_CPU = 0.5
const TARGET_RSS_MB = 20

const say = (line: string): void => { process.stdout.write(line + '\n') }
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)

const dir = await mkdtemp(path.join(os.tmpdir(), 'mailslot-bench-idle-'))
const imap = await startDovecot({ highPerformance: true })
const databaseUrl = await freshBenchDatabase()
const token = randomBytes(18).toString('base64url')
const env = childEnv(dir, token, databaseUrl)
let server: Server | undefined
let embedded: Awaited<ReturnType<typeof startEmbeddedDatabase>> | undefined
let harness: pg.Pool | undefined
/** Statements this harness sent since the last reset: taken off the server's transaction count. */
let own = 0

async function query<T extends pg.QueryResultRow> (sql: string): Promise<T[]> {
  own++
  return (await harness!.query<T>(sql)).rows
}

interface Sample { at: number, connections: number, polls: Map<number, number> }

async function sample (): Promise<Sample> {
  const [{ n }] = await query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`)
  const rows = await query<{ id: number, at: Date | null }>('SELECT id, last_poll_at AS at FROM mailboxes')
  return { at: Date.now(), connections: n, polls: new Map(rows.map(r => [r.id, r.at?.getTime() ?? 0])) }
}

/** Polls seen between consecutive samples: each change of a mailbox's last_poll_at. */
function pollsBetween (samples: Sample[]): number {
  let polls = 0
  for (let i = 1; i < samples.length; i++) {
    for (const [id, at] of samples[i].polls) if (at !== (samples[i - 1].polls.get(id) ?? 0)) polls++
  }
  return polls
}

/** Samples every SAMPLE_MS for `seconds`, the first at once. */
async function sampleFor (seconds: number): Promise<Sample[]> {
  const samples = [await sample()]
  const end = samples[0].at + seconds * 1000
  while (Date.now() < end) {
    await sleep(Math.min(SAMPLE_MS, end - Date.now()))
    samples.push(await sample())
  }
  return samples
}

/** Transactions and sessions the server counted for this database so far. */
async function counters (): Promise<{ transactions: number, sessions: number }> {
  const [row] = await query<{ transactions: number, sessions: number }>(
    'SELECT (xact_commit + xact_rollback)::int AS transactions, sessions::int AS sessions FROM pg_stat_database WHERE datname = current_database()')
  return row
}

const STATEMENT = /\bLOG: {2}(?:statement|execute [^:]*): (.*)$/
/** A line that starts a log record (the embedded server's prefix starts with a timestamp); others continue the one before. */
const RECORD = /^\d{4}-\d\d-\d\d /

/**
 * Statements the server logged from `offset` of its log on (simple and
 * extended protocol alike), and how many of each kind (its first words, a
 * statement's later lines included).
 */
async function loggedStatements (log: string, offset: number): Promise<{ total: number, kinds: Map<string, number> }> {
  const records: string[] = []
  for (const line of readFileSync(log, 'utf8').slice(offset).split('\n')) {
    if (RECORD.test(line) || records.length === 0) records.push(line)
    else records[records.length - 1] += ' ' + line
  }
  const kinds = new Map<string, number>()
  let total = 0
  for (const record of records) {
    const m = STATEMENT.exec(record)
    if (m === null) continue
    total++
    const kind = m[1].replace(/\s+/g, ' ').trim().slice(0, 60)
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
  }
  return { total, kinds }
}

try {
  server = await startServer(env)
  embedded = databaseUrl === undefined ? await startEmbeddedDatabase(dir) : undefined
  // the harness's own statements stay out of the server's log
  harness = new pg.Pool({ connectionString: databaseUrl ?? embedded!.url, max: 1, application_name: 'bench-idle', options: '-c log_statement=none' })
  const api = async (method: string, url: string, body?: unknown): Promise<any> => {
    const res = await fetch(server!.address + url, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`)
    return await res.json()
  }
  for (let i = 0; i < MAILBOXES; i++) {
    const u = imap.addUser()
    await api('POST', '/api/v1/mailboxes', {
      name: `idle-${i}`, provider: 'imap', address: 'incoming+%{key}@example.com', delivery: { kind: 'builtin' }, pollIntervalSeconds: INTERVAL,
      imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password }
    })
  }
  say(`bench:idle — ${MAILBOXES} empty IMAP mailboxes, pollIntervalSeconds ${INTERVAL}; settling ${SETTLE} s, measuring ${MEASURE} s`)
  await sleep(SETTLE * 1000)

  // the postmaster (a daemon, not our child) and its backends, with the mailslot process's tree
  const postmaster = embedded !== undefined ? Number(readFileSync(path.join(embedded.pgDir, 'postmaster.pid'), 'latin1').split('\n')[0]) : undefined
  const roots = [server.child.pid!, ...(postmaster !== undefined ? [postmaster] : [])]
  const rssBefore = rssOf(server.child.pid!)
  const cpuBefore = treeCpuSeconds(roots)
  const pgBefore = postmaster !== undefined ? treeCpuSeconds([postmaster]) : 0
  own = 0
  const before = await counters()
  const samples = await sampleFor(MEASURE)
  const after = await counters()
  const cpu = treeCpuSeconds(roots) - cpuBefore
  const pgCpu = postmaster !== undefined ? treeCpuSeconds([postmaster]) - pgBefore : 0
  const rssGrowth = rssOf(server.child.pid!) - rssBefore
  const seconds = (samples.at(-1)!.at - samples[0].at) / 1000
  const polls = pollsBetween(samples)
  const configured = MAILBOXES * seconds / INTERVAL
  const transactionsPerPoll = polls > 0 ? (after.transactions - before.transactions - own) / polls : NaN
  const sessionsOpened = after.sessions - before.sessions
  const cpuPerPollRate = polls > 0 ? cpu * 100 / polls : NaN
  const conns = samples.map(s => s.connections)
  const half = Math.floor(conns.length / 2)
  // flat: no upward trend. A pool opens a connection for a moment now and
  // then, so one sample's peak says little; a leak, even of one connection a
  // minute, lifts the second half's mean by more than one over the first's
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
  const flat = mean(conns.slice(half)) <= mean(conns.slice(0, half)) + 1

  // statements per poll, in a window of its own: logging every statement costs CPU
  let statements = 'not counted (PostgreSQL from DATABASE_URL)'
  let statementsPerPoll: number | null = null
  if (embedded !== undefined) {
    const log = path.join(embedded.pgDir, 'postgres.log')
    await query("ALTER SYSTEM SET log_statement = 'all'")
    await query('SELECT pg_reload_conf()')
    await sleep(500)
    const offset = (await stat(log)).size
    const window = await sampleFor(STATEMENT_INTERVALS * INTERVAL)
    await query('ALTER SYSTEM RESET log_statement')
    await query('SELECT pg_reload_conf()')
    const logged = await loggedStatements(log, offset)
    const windowPolls = pollsBetween(window)
    statementsPerPoll = windowPolls > 0 ? logged.total / windowPolls : null
    statements = `${statementsPerPoll?.toFixed(2) ?? '—'} (log_statement = all: ${logged.total} statements, BEGIN and COMMIT included, over ${windowPolls} polls in ${STATEMENT_INTERVALS * INTERVAL} s)`
    const top = [...logged.kinds].sort((a, b) => b[1] - a[1]).slice(0, 8)
    statements += '; the most frequent, by their first words:\n' + top.map(([kind, n]) => `      ${String(n).padStart(5)}  ${kind}`).join('\n')
  }

  const cpuLabel = postmaster !== undefined ? 'mailslot process tree + embedded PostgreSQL' : 'mailslot process tree only (PostgreSQL from DATABASE_URL)'
  say(`  conditions: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}; Node ${process.version}; load average ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`)
  say(`  polls: ${polls} done in ${seconds.toFixed(0)} s = ${(polls / seconds).toFixed(2)}/s, ${(100 * polls / configured).toFixed(0)} % of the ${configured.toFixed(0)} configured`)
  say(`  CPU (${cpuLabel}): ${cpu.toFixed(2)} CPU-s = ${(100 * cpu / seconds).toFixed(2)} % of one core; PostgreSQL ${pgCpu.toFixed(2)} CPU-s of it`)
  say(`  per poll/s: ${cpuPerPollRate.toFixed(2)} % of one core (target ≤ ${TARGET_CPU})`)
  say(`  RSS of the mailslot process: ${rssGrowth >= 0 ? '+' : ''}${mb(rssGrowth)} MB over the window (target < ${TARGET_RSS_MB} MB), now ${mb(rssOf(server.child.pid!))} MB`)
  say(`  PostgreSQL client connections: ${Math.min(...conns)}–${Math.max(...conns)} over ${conns.length} samples, first ${conns[0]}, last ${conns.at(-1)!}, mean ${mean(conns.slice(0, half)).toFixed(1)} then ${mean(conns.slice(half)).toFixed(1)}: ${flat ? 'flat' : 'GROWING'}`)
  say(`  PostgreSQL sessions opened over the window: ${sessionsOpened} (pg_stat_database.sessions)`)
  say(`  PostgreSQL transactions per poll: ${transactionsPerPoll.toFixed(2)} (pg_stat_database xact_commit + xact_rollback, less this harness's ${own})`)
  say(`  PostgreSQL statements per poll: ${statements}`)
  const met = cpuPerPollRate <= TARGET_CPU && rssGrowth < TARGET_RSS_MB * 2 ** 20 && flat
  say(met ? 'targets met' : 'targets NOT met')
  reportResult({
    benchmark: 'idle',
    figure: `${cpuPerPollRate.toFixed(2)} % of a core per poll/s; RSS ${rssGrowth >= 0 ? '+' : ''}${mb(rssGrowth)} MB; connections ${Math.min(...conns)}–${Math.max(...conns)}; ` +
      `${(100 * polls / configured).toFixed(0)} % of configured polls; ${transactionsPerPoll.toFixed(2)} transactions${statementsPerPoll !== null ? `, ${statementsPerPoll.toFixed(2)} statements` : ''} per poll`,
    baseline: null,
    ratio: null,
    target: `≤ ${TARGET_CPU} % of a core per poll/s, RSS growth < ${TARGET_RSS_MB} MB, connections flat`,
    met
  })
  process.exitCode = met ? 0 : 1
} finally {
  if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) await server.stop()
  await harness?.end()
  await embedded?.stop()
  await imap.stop()
  await rm(dir, { recursive: true, force: true })
}
