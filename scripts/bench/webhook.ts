/**
 * npm run bench:webhook — Graph change notifications accepted per second by
 * POST /graph/notifications (each one verified and committed, with its sync
 * queued, before its 202), against a bare Fastify hello world measured in the
 * same run with the same autocannon settings.
 *
 * Both servers run in child processes (webhook-server.ts); autocannon runs
 * here. Each notification is a realistic one-item Graph body for one of 200
 * subscribed mailboxes, with a valid clientState (1000 distinct bodies,
 * cycled); each one is inserted as a row of its own. After the runs,
 * the rows in graph_notifications must cover every 202 (and no more than
 * the requests sent).
 * Targets: ≥ 5,000 notifications/s, p99 < 50 ms, ≥ 0.3 × hello world.
 * BENCH_RUNS (3), BENCH_SECONDS (10), BENCH_CONNECTIONS (50) change the run.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon, { type Request, type Result } from 'autocannon'
import { median } from './common.ts'
import { reportResult, whole } from './result.ts'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
/** Distinct notification bodies (message ids) per run. */
const BODIES = 1000
const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'webhook-server.ts')

interface Sub { id: string, clientState: string, userId: string }
interface Server { info: { url: string, subscriptions?: Sub[] }, stop: () => Promise<Array<Record<string, number>>> }

async function startServer (kind: 'hello' | 'mailslot'): Promise<Server> {
  const child: ChildProcess = spawn(process.execPath, [SERVER, kind], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const messages: Array<Record<string, unknown>> = []
  let first: (v: Record<string, unknown>) => void
  const ready = new Promise<Record<string, unknown>>(resolve => { first = resolve })
  lines.on('line', line => {
    if (!line.startsWith('{')) return
    const msg = JSON.parse(line)
    if (messages.push(msg) === 1) first(msg)
  })
  const exited = new Promise(resolve => child.once('exit', resolve))
  const info = await Promise.race([ready, exited.then(() => { throw new Error(`${kind} server exited`) })]) as Server['info']
  return { info, stop: async () => { child.kill('SIGTERM'); await exited; return messages.slice(1) as Array<Record<string, number>> } }
}

const tenantId = randomUUID()

/** A realistic Graph body, split at its message id (which appears three times). */
function template (sub: Sub): string[] {
  const id = 'AAMkAGI2TG93AAA@@@AAA='
  const resource = `Users/${sub.userId}/Messages/${id}`
  return JSON.stringify({
    value: [{
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: new Date(Date.now() + 3 * 86400_000).toISOString(),
      changeType: 'created',
      resource,
      resourceData: { '@odata.type': '#Microsoft.Graph.Message', '@odata.id': resource, '@odata.etag': 'W/"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf"', id },
      clientState: sub.clientState,
      tenantId
    }]
  }).split('@@@')
}

async function load (url: string, requests: Request[]): Promise<Result> {
  return await autocannon({ url, connections: CONNECTIONS, pipelining: 1, duration: SECONDS, requests })
}

const hello = await startServer('hello')
const slot = await startServer('mailslot')
const subs = slot.info.subscriptions as Sub[]
const templates = subs.map(template)
const run = randomBytes(6).toString('base64url')
// static requests: autocannon builds each once, so the load generator costs
// about as much per request as for the hello world; each connection cycles
// through them (a message id recurs every BODIES requests, which changes
// nothing: every notification is inserted as a row of its own)
const notify: Request[] = Array.from({ length: BODIES }, (_, i) => ({
  method: 'POST',
  path: '/graph/notifications',
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: templates[i % templates.length].join(run + i.toString(36))
}))
const helloRequest: Request[] = [{ method: 'GET', path: '/' }]

let accepted = 0
let sent = 0
const rows: Array<{
  run: number, hello: number, notes: number, ratio: number, p50: number, p99: number, helloP99: number, errors: number
}> = []
process.stdout.write(`warming up (${SECONDS} s each)…\n`)
await load(hello.info.url, helloRequest)
const warm = await load(slot.info.url, notify)
accepted += warm['2xx']
sent += warm.requests.sent
for (let run = 1; run <= RUNS; run++) {
  const base = await load(hello.info.url, helloRequest)
  const res = await load(slot.info.url, notify)
  accepted += res['2xx']
  sent += res.requests.sent
  const notes = res['2xx'] / res.duration
  const helloRate = base['2xx'] / base.duration
  rows.push({
    run, hello: helloRate, notes, ratio: notes / helloRate, p50: res.latency.p50, p99: res.latency.p99, helloP99: base.latency.p99,
    errors: res.non2xx + res.errors + res.timeouts
  })
  const r = rows[rows.length - 1]
  process.stdout.write(`run ${run}: hello ${r.hello.toFixed(0)} req/s (p99 ${r.helloP99} ms) | notifications ${r.notes.toFixed(0)}/s, p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx/errors ${r.errors} | ratio ${r.ratio.toFixed(2)}\n`)
}
await hello.stop()
const [{ persisted }] = await slot.stop()

const m = (k: 'hello' | 'notes' | 'ratio' | 'p50' | 'p99'): number => median(rows.map(r => r[k]))
process.stdout.write(`\nmedians of ${RUNS} runs, ${SECONDS} s each, ${CONNECTIONS} connections, 1-item bodies, 200 mailboxes:\n`)
process.stdout.write(`  bare Fastify hello world: ${m('hello').toFixed(0)} req/s\n`)
process.stdout.write(`  notifications accepted:   ${m('notes').toFixed(0)}/s (target ≥ 5000), p50 ${m('p50')} ms, p99 ${m('p99')} ms (target < 50)\n`)
process.stdout.write(`  ratio:                    ${m('ratio').toFixed(2)} × hello world (target ≥ 0.3)\n`)
// requests still in flight when a run's time is up are persisted but not counted as 202s
const consistent = persisted >= accepted && persisted <= sent
process.stdout.write(`  persisted rows ${persisted}: every 202 has its row (${accepted} 202s, ${sent} sent): ${consistent ? 'yes' : 'NO'}\n`)
const ok = m('notes') >= 5000 && m('p99') < 50 && m('ratio') >= 0.3 && consistent
process.stdout.write(ok ? 'targets met\n' : 'targets NOT met\n')
reportResult({
  benchmark: 'webhook',
  figure: `${whole(m('notes'))} notifications/s, p99 ${m('p99')} ms`,
  baseline: `${whole(m('hello'))} req/s (hello world)`,
  ratio: m('ratio'),
  target: '≥ 5,000/s, p99 < 50 ms, ≥ 0.3 × baseline, every 202 persisted',
  met: ok
})
process.exitCode = ok ? 0 : 1
