/**
 * npm run bench:latency — webhook path latency: a message added to the
 * (fake) Graph mailbox → change notification → 202 → mailbox-sync → delta,
 * $value, store → email-handle → end state (delivered or rejected).
 *
 * One process: the HTTPS fake of Graph (its notifier batches for 5 ms, as
 * configured by default) and a full mailslot runtime (web + workers) whose
 * MAILSLOT_PUBLIC_URL is its own address, on the embedded (or DATABASE_URL)
 * PostgreSQL. The mailbox subscribes through the real handshake; then
 * messages are added one at a time, each once the previous one is handled.
 * Each run uses a new mailbox in the same runtime.
 * Latency = handled_at (set by PostgreSQL) − the moment it was added.
 * Baseline in the same run: the bare round trip of the same work without
 * mailslot's queueing — one delta + $value + PATCH through the same SDK
 * client, i.e. the Graph part of the path.
 * Targets: p50 < 150 ms, p99 < 500 ms. BENCH_MESSAGES (200), BENCH_RUNS (3).
 */
import { freePort } from '../../src/db/embedded.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { requestSync } from '../../src/ingestion/request-sync.ts'
import { startFakeGraph } from '../../test/fakes/graph/index.ts'
import { graphClientFor } from '../../test/fakes/graph/clients.ts'
import { makeEmail } from '../../test/helpers/emails.ts'
import { benchRuntime, median, percentile } from './common.ts'
import { reportResult } from './result.ts'

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const WARMUP = 10

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

const fake = await startFakeGraph({ log: false })
const port = await freePort()
const bench = await benchRuntime('all', { PORT: String(port), MAILSLOT_PUBLIC_URL: `http://127.0.0.1:${port}` })
const { ctx } = bench.rt

/** One run: a new mailbox (and subscription) in the same runtime. */
async function run (round: number): Promise<{ latencies: number[], graphOnly: number[] }> {
  const box = fake.addMailbox(`bench${round}@contoso.example`)
  const view = await createMailbox(ctx, ctx.pool, {
    name: `latency-${round}`, provider: 'graph', mode: 'webhook', delivery: { kind: 'builtin' }, address: 'incoming+%{key}@example.com',
    graph: {
      tenantId: fake.tenantId, clientId: fake.clientId, clientSecret: fake.clientSecret,
      user: box.upn, authorityHost: fake.url, baseUrl: fake.url
    }
  })
  await requestSync(ctx, view.id, 'manual')
  for (let i = 0; ; i++) {
    const { rows } = await ctx.pool.query("SELECT 1 FROM graph_subscriptions WHERE mailbox_id = $1 AND state = 'active'", [view.id])
    if (rows.length > 0) break
    if (i > 600) throw new Error('no subscription after 30 s')
    await sleep(50)
  }
  const latencies: number[] = []
  for (let i = 0; i < WARMUP + MESSAGES; i++) {
    const added = Date.now()
    const { id } = box.addMessage('Inbox', makeEmail(i))
    for (let waited = 0; ; waited += 2) {
      const { rows } = await ctx.pool.query<{ at: Date }>(
        `SELECT handled_at AS at FROM inbound_emails WHERE mailbox_id = $1 AND provider_key = $2 AND status IN ('delivered', 'rejected')`, [view.id, id])
      if (rows.length > 0) { if (i >= WARMUP) latencies.push(rows[0].at.getTime() - added); break }
      if (waited > 30_000) throw new Error(`message ${i} not handled after 30 s`)
      await sleep(2)
    }
  }
  // the Graph part alone, same client setup: list (delta), download, mark read
  const client = graphClientFor(fake)
  const graphOnly: number[] = []
  let page = await client.api(`/users/${box.upn}/mailFolders/Inbox/messages/delta`).header('Prefer', 'odata.maxpagesize=500').get()
  while (page['@odata.nextLink'] !== undefined) page = await client.api(page['@odata.nextLink']).get()
  let deltaLink = page['@odata.deltaLink'] as string
  for (let i = 0; i < 50; i++) {
    const started = performance.now()
    const { id } = box.addMessage('Inbox', makeEmail(10_000 + i))
    deltaLink = (await client.api(deltaLink).get())['@odata.deltaLink']
    await client.api(`/users/${box.upn}/messages/${id}/$value`).getStream()
    await client.api(`/users/${box.upn}/messages/${id}`).patch({ isRead: true })
    graphOnly.push(performance.now() - started)
  }
  return { latencies, graphOnly }
}

const fmt = (n: number): string => `${n.toFixed(0)} ms`
const p50s: number[] = []; const p90s: number[] = []; const p99s: number[] = []; const graphP50s: number[] = []
for (let round = 1; round <= RUNS; round++) {
  const { latencies, graphOnly } = await run(round)
  p50s.push(percentile(latencies, 50)); p90s.push(percentile(latencies, 90)); p99s.push(percentile(latencies, 99))
  graphP50s.push(percentile(graphOnly, 50))
  process.stdout.write(`run ${round}: ${latencies.length} messages: p50 ${fmt(p50s.at(-1)!)}, p90 ${fmt(p90s.at(-1)!)}, p99 ${fmt(p99s.at(-1)!)}, max ${fmt(Math.max(...latencies))} | Graph calls alone (delta + $value + PATCH) p50 ${fmt(graphP50s.at(-1)!)}\n`)
}
const [p50, p90, p99] = [median(p50s), median(p90s), median(p99s)]
process.stdout.write(`\nmedians of ${RUNS} runs × ${MESSAGES} messages (after ${WARMUP} warm-up), added one at a time:\n`)
process.stdout.write(`  added → handled: p50 ${fmt(p50)} (target < 150), p90 ${fmt(p90)}, p99 ${fmt(p99)} (target < 500)\n`)
process.stdout.write(`  baseline, the Graph calls alone: p50 ${fmt(median(graphP50s))}; mailslot adds ${fmt(p50 - median(graphP50s))} at p50 (notification, queue, store, handle)\n`)
const ok = p50 < 150 && p99 < 500
process.stdout.write(ok ? 'targets met\n' : 'targets NOT met\n')
reportResult({
  benchmark: 'latency',
  figure: `p50 ${fmt(p50)}, p99 ${fmt(p99)}`,
  baseline: `p50 ${fmt(median(graphP50s))} (the Graph calls alone)`,
  ratio: null,
  target: 'p50 < 150 ms, p99 < 500 ms',
  met: ok
})
await bench.close()
await fake.close()
process.exitCode = ok ? 0 : 1
