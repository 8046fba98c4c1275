/**
 * npm run bench:imap — IMAP → handled throughput, against its raw baseline.
 *
 * Starts a fresh mailslot runtime in this process (an embedded PostgreSQL in
 * a temporary data dir, or a fresh database on the DATABASE_URL server) and a private Dovecot with
 * its high-performance settings. Two workloads (BENCH_WORKLOAD):
 * - `issues` (default), the path users run: 10 built-in projects made through
 *   the API and 2 issues each opened by email before the timed runs; each run's
 *   emails are 80 % new issues, spread over the projects (to each one's issue
 *   address), and 20 % replies to those issues' reply addresses (notes). After
 *   each run every issue and note is checked: each email delivered, each issue
 *   in its project with its title, each note on its issue; the benchmark fails
 *   otherwise. Baseline: bulk FETCH + simpleParser + batched INSERTs of the raw
 *   rows and of one issue-or-note row per email. Targets ≥ 1,000 emails/s and
 *   ≥ 0.6 × the baseline.
 * - `rejected`: the earlier pipeline figure. Every email carries the key
 *   `test-key`, which names nothing, and ends `rejected` (`unknown_key`) after
 *   parse, routing and the built-in lookup; no issue or note is made. Baseline:
 *   the raw rows only. Target ≥ 0.8 × the baseline.
 * Each run delivers N × 7 KB emails (default 2,000) to two fresh users; then
 * - mailslot: an IMAP mailbox (builtin delivery) on the first user is polled
 *   and timed from the poll request until every row is in an end state;
 * - baseline: the second user's copy is bulk-fetched with imapflow, parsed
 *   with simpleParser and inserted 100 rows at a time (imap-baseline.ts).
 * Each run times the baseline first, then mailslot, each right after its own
 * mailbox was filled (the other order put both deliveries just before
 * mailslot's run: its median ratio fell to 0.60–0.64 from 0.72–0.74).
 * Prints each run, the medians and the ratio, and a BENCH_RESULT line. Everything stays on 127.0.0.1.
 * BENCH_EMAILS and BENCH_RUNS change the size (defaults 2000 and 7: the
 * machine is shared and a single run's ratio ranges 0.5–1.1, so the median
 * needs more runs than one or three);
 * BENCH_PROFILE=<file> writes a CPU profile of the last timed mailslot run.
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import type { Runtime } from '../../src/runtime/start.ts'
import { startDovecot, type Dovecot } from '../../test/helpers/dovecot.ts'
import { makeEmail } from '../../test/helpers/emails.ts'
import { HARNESS_POLL_MS, WARMUP_RUNS, api, benchRuntime, onDemandMailbox, lastHandledAt, profiled, median, waitUntil } from './common.ts'
import { runBaseline, type BaselineResult } from './imap-baseline.ts'
import { cpuMeter, cpuTotal, formatCpu, type CpuSeconds } from './cpu.ts'
import { reportResult, whole } from './result.ts'

const WORKLOAD = process.env.BENCH_WORKLOAD ?? 'issues'
if (WORKLOAD !== 'issues' && WORKLOAD !== 'rejected') {
  console.error(`BENCH_WORKLOAD must be issues or rejected, not ${WORKLOAD}`)
  process.exit(2)
}
const ISSUES = WORKLOAD === 'issues'
const EMAILS = Number(process.env.BENCH_EMAILS ?? 2000)
const RUNS = Number(process.env.BENCH_RUNS ?? 7)
const TIMEOUT_MS = 300_000
const TARGET_RATE = 1000
const TARGET_RATIO = ISSUES ? 0.6 : 0.8
const PROJECTS = 10
const SEED_ISSUES_PER_PROJECT = 2
/** Every fifth email a reply: 20 % notes, 80 % new issues. */
const REPLY_EVERY = 5
const WILDCARD = 'incoming+%{key}@example.com'

interface MailslotResult { seconds: number, storedSeconds: number, count: number, outcomes: string, cpu: CpuSeconds }

const rate = (count: number, seconds: number): number => count / seconds

async function runMailslot (rt: Runtime, imap: Dovecot, name: string, emails: Buffer[]): Promise<MailslotResult> {
  await onDemandMailbox(rt, imap, name, { kind: 'builtin' }, emails)

  const count = async (sql: string): Promise<number> => (await rt.ctx.pool.query<{ n: number }>(sql, [name])).rows[0].n
  const started = Date.now()
  const meter = cpuMeter()
  await profiled(async () => {
    await api(rt, 'POST', `/api/v1/mailboxes/${name}/poll`)
    await waitUntil('every email in an end state', async () =>
      await count(`SELECT count(*)::int AS n FROM inbound_emails WHERE mailbox_name = $1 AND status IN ('delivered', 'rejected', 'failed')`) >= emails.length, TIMEOUT_MS, HARNESS_POLL_MS)
  })
  const cpu = meter()
  const seconds = (await lastHandledAt(rt.ctx.pool, name) - started) / 1000

  const { rows } = await rt.ctx.pool.query<{ n: number, stored: Date }>(
    'SELECT count(*)::int AS n, max(received_at) AS stored FROM inbound_emails WHERE mailbox_name = $1', [name])
  if (rows[0].n !== emails.length) throw new Error(`${rows[0].n} rows for ${emails.length} emails`)
  const { rows: outcomes } = await rt.ctx.pool.query<{ o: string, n: number }>(
    `SELECT status || coalesce(':' || reason, '') AS o, count(*)::int AS n FROM inbound_emails WHERE mailbox_name = $1 GROUP BY 1 ORDER BY 2 DESC`, [name])
  return { seconds, storedSeconds: (rows[0].stored.getTime() - started) / 1000, count: rows[0].n, outcomes: outcomes.map(o => `${o.o} ${o.n}`).join(', '), cpu }
}

interface Project { id: number, issueAddress: string }
interface SeedIssue { id: number, replyAddress: string }

/** One run's emails and what each must become: issue titles → project id, note tags → issue id. */
interface RunEmails { emails: Buffer[], issues: Map<string, number>, notes: Map<string, number> }

function issuesRun (projects: Project[], seeds: SeedIssue[], run: number, first: number): RunEmails {
  const out: RunEmails = { emails: [], issues: new Map(), notes: new Map() }
  let opened = 0
  for (let i = 0; i < EMAILS; i++) {
    const tag = `${run}.${i}`
    if (i % REPLY_EVERY === REPLY_EVERY - 1) {
      const issue = seeds[Math.floor(i / REPLY_EVERY) % seeds.length]
      out.notes.set(tag, issue.id)
      out.emails.push(makeEmail(first + i, { to: issue.replyAddress, subject: 'Re: seeded issue', body: `Reply ${tag}\r\n\r\n` }))
    } else {
      const project = projects[opened++ % projects.length]
      out.issues.set(`Bench issue ${tag}`, project.id)
      out.emails.push(makeEmail(first + i, { to: project.issueAddress, subject: `Bench issue ${tag}` }))
    }
  }
  return out
}

/** Every email delivered, every issue in its project, every note on its issue, nothing more: or the benchmark fails. */
async function verifyIssuesRun (rt: Runtime, name: string, expected: RunEmails): Promise<void> {
  const q = async <T extends object>(sql: string): Promise<T[]> => (await rt.ctx.pool.query<T>(sql, [name])).rows
  const problems: string[] = []
  const states = await q<{ status: string, n: number }>('SELECT status, count(*)::int AS n FROM inbound_emails WHERE mailbox_name = $1 GROUP BY 1')
  const delivered = states.find(s => s.status === 'delivered')?.n ?? 0
  if (delivered !== EMAILS) problems.push(`${delivered} of ${EMAILS} emails delivered (${states.map(s => `${s.status} ${s.n}`).join(', ')})`)
  const issues = await q<{ title: string, project: number }>(
    'SELECT i.title, i.project_id AS project FROM issues i JOIN inbound_emails e ON e.id = i.inbound_email_id WHERE e.mailbox_name = $1')
  const seenTitles = new Set<string>()
  for (const i of issues) {
    if (seenTitles.has(i.title)) problems.push(`issue "${i.title}" made twice`)
    seenTitles.add(i.title)
    if (expected.issues.get(i.title) !== i.project) problems.push(`issue "${i.title}" in project ${i.project}, expected ${expected.issues.get(i.title) ?? 'none'}`)
  }
  for (const title of expected.issues.keys()) if (!seenTitles.has(title)) problems.push(`issue "${title}" missing`)
  const perProject = new Map<number, number>()
  for (const p of expected.issues.values()) perProject.set(p, (perProject.get(p) ?? 0) + 1)
  for (const [p, n] of perProject) {
    const got = issues.filter(i => i.project === p).length
    if (got !== n) problems.push(`project ${p}: ${got} issues, expected ${n}`)
  }
  const notes = await q<{ body: string, issue: number }>(
    'SELECT n.body, n.issue_id AS issue FROM notes n JOIN inbound_emails e ON e.id = n.inbound_email_id WHERE e.mailbox_name = $1')
  const seenTags = new Set<string>()
  for (const n of notes) {
    const tag = /Reply (\S+)/.exec(n.body)?.[1] ?? `(no tag: ${n.body.slice(0, 40)})`
    if (seenTags.has(tag)) problems.push(`note ${tag} made twice`)
    seenTags.add(tag)
    if (expected.notes.get(tag) !== n.issue) problems.push(`note ${tag} on issue ${n.issue}, expected ${expected.notes.get(tag) ?? 'none'}`)
  }
  if (seenTags.size !== expected.notes.size) problems.push(`${seenTags.size} notes, expected ${expected.notes.size}`)
  const iids = await q<{ project: number }>(
    `SELECT project_id AS project FROM issues WHERE project_id IN (
       SELECT i.project_id FROM issues i JOIN inbound_emails e ON e.id = i.inbound_email_id WHERE e.mailbox_name = $1
     ) GROUP BY 1 HAVING count(*) <> count(DISTINCT iid)`)
  for (const p of iids) problems.push(`project ${p.project}: two issues share an iid`)
  if (problems.length > 0) throw new Error(`${name}: the issues and notes are not exact:\n  ${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? `\n  … ${problems.length - 20} more` : ''}`)
}

/** The projects through the API and their first issues by email (not timed): the replies' targets. */
async function seedProjects (rt: Runtime, imap: Dovecot, prefix: string): Promise<{ projects: Project[], seeds: SeedIssue[] }> {
  const projects: Project[] = []
  for (let p = 0; p < PROJECTS; p++) {
    const made = await api(rt, 'POST', '/api/v1/projects', { path: `bench/p${p}-${process.pid}`, address: WILDCARD })
    projects.push({ id: made.id, issueAddress: made.addresses.issue })
  }
  const name = `${prefix}-seed`
  const emails = projects.flatMap((p, n) => Array.from({ length: SEED_ISSUES_PER_PROJECT }, (_, k) =>
    makeEmail(n * SEED_ISSUES_PER_PROJECT + k, { to: p.issueAddress, subject: `Seeded issue ${n}.${k}` })))
  await onDemandMailbox(rt, imap, name, { kind: 'builtin' }, emails)
  await api(rt, 'POST', `/api/v1/mailboxes/${name}/poll`)
  const seeds: SeedIssue[] = []
  await waitUntil('the seeded issues', async () => {
    seeds.length = 0
    for (const p of projects) seeds.push(...(await api(rt, 'GET', `/api/v1/projects/${p.id}/issues`)).items as SeedIssue[])
    return seeds.length >= emails.length
  }, TIMEOUT_MS, HARNESS_POLL_MS)
  if (seeds.length !== emails.length || seeds.some(s => typeof s.replyAddress !== 'string')) throw new Error(`seeding made ${seeds.length} issues of ${emails.length}, or some without a reply address`)
  return { projects, seeds: seeds.sort((a, b) => a.id - b.id) }
}

function conditions (pgVersion: string, embedded: boolean): string {
  let dovecot = 'Dovecot'
  try { dovecot = `Dovecot ${execFileSync('dovecot', ['--version']).toString().trim().split(' ')[0]}` } catch {}
  const cpu = os.cpus()
  return [
    `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}`,
    `${pgVersion.split(' on ')[0]} (${embedded ? 'embedded' : 'DATABASE_URL'}); ${dovecot} (high-performance settings), all on 127.0.0.1`,
    `${EMAILS} emails of ~${Math.round(makeEmail(0).length / 1024)} KB per run, ${RUNS} timed runs after ${WARMUP_RUNS} warm-up`,
    ISSUES
      ? `workload issues: ${PROJECTS} projects, ${100 - 100 / REPLY_EVERY} % new issues spread over them, ${100 / REPLY_EVERY} % replies to ${PROJECTS * SEED_ISSUES_PER_PROJECT} seeded issues`
      : 'workload rejected: every email ends rejected unknown_key (the pipeline without an issue or note)'
  ].join('\n  ')
}

const bench = await benchRuntime('all')
const { rt } = bench
const imap = await startDovecot({ highPerformance: true })
const prefix = `bench-imap-${process.pid}`
// the embedded PostgreSQL runs as a daemon: an interrupted run must still stop it
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { void Promise.allSettled([bench.close(), imap.stop()]).then(() => process.exit(130)) })
}
try {
  const pgVersion = (await rt.ctx.pool.query<{ v: string }>('SELECT version() AS v')).rows[0].v
  console.log(`IMAP → handled (builtin delivery)\n  ${conditions(pgVersion, rt.ctx.settings.databaseUrl === undefined)}\n`)
  const seeded = ISSUES ? await seedProjects(rt, imap, prefix) : undefined
  const results: Array<{ mailslot: MailslotResult, baseline: BaselineResult & { cpu: CpuSeconds } }> = []
  for (let run = 1 - WARMUP_RUNS; run <= RUNS; run++) {
    const first = (run + WARMUP_RUNS) * EMAILS
    const planned = seeded !== undefined ? issuesRun(seeded.projects, seeded.seeds, run, first) : undefined
    const emails = planned?.emails ?? Array.from({ length: EMAILS }, (_, i) => makeEmail(first + i))
    const twin = imap.addUser()
    await imap.appendMany(twin.user, 'INBOX', emails)
    const meter = cpuMeter()
    const twinOptions = imap.clientOptions({ user: twin.user, pass: twin.password })
    const baseline = { ...await runBaseline(twinOptions, rt.ctx.pool, EMAILS, ISSUES), cpu: meter() }
    const name = `${prefix}-${run}`
    const mailslot = await runMailslot(rt, imap, name, emails)
    if (planned !== undefined) await verifyIssuesRun(rt, name, planned)
    if (run < 1) { console.log(`warm-up run (not counted): mailslot ${(EMAILS / mailslot.seconds).toFixed(0)} emails/s, baseline ${(EMAILS / baseline.seconds).toFixed(0)} emails/s`); continue }
    results.push({ mailslot, baseline })
    const b = baseline
    console.log(`run ${run}: mailslot ${rate(EMAILS, mailslot.seconds).toFixed(0)} emails/s (${mailslot.seconds.toFixed(2)} s; all stored at ${mailslot.storedSeconds.toFixed(2)} s; ${mailslot.outcomes}${ISSUES ? '; issues and notes exact' : ''})`)
    console.log(`       baseline ${rate(EMAILS, b.seconds).toFixed(0)} emails/s (${b.seconds.toFixed(2)} s = fetch ${b.fetchSeconds.toFixed(2)} + parse ${b.parseSeconds.toFixed(2)} + insert ${b.insertSeconds.toFixed(2)})`)
    console.log(`       ratio ${(b.seconds / mailslot.seconds).toFixed(2)}`)
    console.log(`       cpu: mailslot ${formatCpu(mailslot.cpu)}; baseline ${formatCpu(b.cpu)}`)
  }
  const mailslotRate = median(results.map(r => rate(EMAILS, r.mailslot.seconds)))
  const baselineRate = median(results.map(r => rate(EMAILS, r.baseline.seconds)))
  const ratio = median(results.map(r => r.baseline.seconds / r.mailslot.seconds))
  console.log(`\nmedian of ${RUNS}: mailslot ${mailslotRate.toFixed(0)} emails/s, baseline ${baselineRate.toFixed(0)} emails/s, ratio ${ratio.toFixed(2)}`)
  const cpuRatio = median(results.map(r => cpuTotal(r.mailslot.cpu) / cpuTotal(r.baseline.cpu)))
  console.log(`CPU: mailslot uses ${cpuRatio.toFixed(2)} × the baseline's CPU-seconds (median); on ${os.cpus().length} cores its run cannot be shorter than its CPU-seconds / ${os.cpus().length}`)
  const rateMet = mailslotRate >= TARGET_RATE
  const ratioMet = ratio >= TARGET_RATIO
  console.log(`target: ≥ ${TARGET_RATE} emails/s ${rateMet ? 'met' : 'MISSED'}; ≥ ${TARGET_RATIO} × baseline ${ratioMet ? 'met' : 'MISSED'}`)
  reportResult({
    benchmark: ISSUES ? 'imap (issues and notes)' : 'imap (rejected pipeline)',
    figure: `${whole(mailslotRate)} emails/s`,
    baseline: `${whole(baselineRate)} emails/s`,
    ratio,
    target: `≥ ${whole(TARGET_RATE)} emails/s, ≥ ${TARGET_RATIO} × baseline`,
    met: rateMet && ratioMet
  })
} finally {
  // the raw bytes are not left behind on a DATABASE_URL server
  await rt.ctx.pool.query(`DELETE FROM inbound_emails WHERE mailbox_name LIKE $1`, [`${prefix}-%`]).catch(() => {})
  await rt.ctx.pool.query(`DELETE FROM mailboxes WHERE name LIKE $1`, [`${prefix}-%`]).catch(() => {})
  await rt.ctx.pool.query('DELETE FROM projects WHERE path LIKE $1', [`bench/p%-${process.pid}`]).catch(() => {})
  await bench.close()
  await imap.stop()
}
