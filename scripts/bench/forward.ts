/**
 * npm run bench:forward — IMAP → forwarded to GitLab's mail_room API (the
 * `gitlab` delivery), against a raw baseline measured in the same run.
 *
 * Starts a fresh mailslot runtime in this process (an embedded PostgreSQL in
 * a temporary data dir, or a fresh database on the DATABASE_URL server), a
 * private Dovecot with its high-performance settings and a stand-in for
 * GitLab's endpoint on a thread of its own that checks every JWT as GitLab
 * does. Each run delivers N × 7 KB emails (default 2,000) to two fresh users;
 * - mailslot: an IMAP mailbox with the gitlab delivery on the first user is
 *   polled and timed from the poll request until every email is `delivered`;
 *   the endpoint must have had each exactly once;
 * - baseline: the second user's copy is bulk-fetched with one imapflow
 *   session, then POSTed one request per email (a JWT each, keep-alive, the
 *   delivery's own node:http transport), as many in flight as one
 *   email-handle call sends at once (DELIVERIES_IN_FLIGHT, 8).
 * - mail_room: the real one, when installed (mailroom-run.ts), on a third
 *   user's copy, timed runs only; its figure is set against mailslot's of
 *   the same run, never against one from another run or machine.
 * BENCH_EMAILS and BENCH_RUNS change the size (defaults 2000 and 3);
 * BENCH_PROFILE=<file> writes a CPU profile of the last timed mailslot run;
 * BENCH_LATENCY_MS holds each answer that long, as a GitLab across a network
 * would (default 0: local).
 */
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { ImapFlowOptions } from 'imapflow'
import { MAILROOM_HEADER, mailroomToken } from '../../src/handlers/gitlab/jwt.ts'
import { sendPost } from '../../src/handlers/http/transport.ts'
import type { Runtime } from '../../src/runtime/start.ts'
import { DELIVERIES_IN_FLIGHT } from '../../src/inbound/handle.ts'
import { startDovecot, type Dovecot } from '../../test/helpers/dovecot.ts'
import { makeEmail } from '../../test/helpers/emails.ts'
import { HARNESS_POLL_MS, WARMUP_RUNS, api, benchRuntime, onDemandMailbox, lastHandledAt, bulkFetch, median, profiled, waitUntil } from './common.ts'
import { startMailroomEndpoint, type MailroomEndpoint } from './mailroom-endpoint.ts'
import { findMailroom, runMailroom, type MailroomResult } from './mailroom-run.ts'
import { reportResult, whole } from './result.ts'

const EMAILS = Number(process.env.BENCH_EMAILS ?? 2000)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 0)
const TIMEOUT_MS = 300_000
/** Issue 16's targets: half the baseline, and 40 × the real mail_room's 53/s measured beside it on that machine. */
const TARGET_RATIO = 0.5
const TARGET_RATE = 2100

/** Every email arrived exactly once, and no request was refused. */
async function checkArrivals (endpoint: MailroomEndpoint, who: string): Promise<void> {
  const { distinct, once, refused } = await endpoint.stats()
  if (refused > 0 || distinct !== EMAILS || once !== EMAILS) {
    throw new Error(`${who}: ${distinct} distinct emails arrived (${once} exactly once) of ${EMAILS}; ${refused} requests refused`)
  }
}

interface MailslotResult { seconds: number, storedSeconds: number }

async function runMailslot (
  rt: Runtime, imap: Dovecot, endpoint: MailroomEndpoint, secretFile: string, name: string, emails: Buffer[]
): Promise<MailslotResult> {
  await onDemandMailbox(rt, imap, name, { kind: 'gitlab', url: endpoint.url, mailboxType: 'incoming_email', secretFile }, emails)
  await endpoint.reset()

  const count = async (sql: string): Promise<number> => (await rt.ctx.pool.query<{ n: number }>(sql, [name])).rows[0].n
  const started = Date.now()
  await profiled(async () => {
    await api(rt, 'POST', `/api/v1/mailboxes/${name}/poll`)
    await waitUntil('every email delivered', async () => {
      const failed = await count(`SELECT count(*)::int AS n FROM inbound_emails WHERE mailbox_name = $1 AND status IN ('failed', 'rejected')`)
      if (failed > 0) throw new Error(`${failed} emails failed or rejected`)
      return await count(`SELECT count(*)::int AS n FROM inbound_emails WHERE mailbox_name = $1 AND status = 'delivered'`) >= emails.length
    }, TIMEOUT_MS, HARNESS_POLL_MS)
  })
  const seconds = (await lastHandledAt(rt.ctx.pool, name) - started) / 1000
  const { rows } = await rt.ctx.pool.query<{ stored: Date }>('SELECT max(received_at) AS stored FROM inbound_emails WHERE mailbox_name = $1', [name])
  await checkArrivals(endpoint, 'mailslot')
  return { seconds, storedSeconds: (rows[0].stored.getTime() - started) / 1000 }
}

interface BaselineResult { seconds: number, fetchSeconds: number, postSeconds: number }

async function runBaseline (imap: ImapFlowOptions, endpoint: MailroomEndpoint, secret: Uint8Array<ArrayBuffer>): Promise<BaselineResult> {
  await endpoint.reset()
  const started = performance.now()
  const raws = await bulkFetch(imap)
  const fetched = performance.now()

  const url = new URL(`${endpoint.url}/api/v4/internal/mail_room/incoming_email`)
  let next = 0
  const poster = async (): Promise<void> => {
    while (next < raws.length) {
      const raw = raws[next++]
      const headers = { 'content-type': 'text/plain', [MAILROOM_HEADER]: mailroomToken(secret) }
      const { status } = await sendPost(url, { headers, body: raw, signal: AbortSignal.timeout(30_000), excerptBytes: 300, reach: 'private' })
      if (status !== 200) throw new Error(`baseline POST answered ${status}`)
    }
  }
  // as many in flight as one email-handle call sends at once
  await Promise.all(Array.from({ length: DELIVERIES_IN_FLIGHT }, poster))
  const posted = performance.now()
  await checkArrivals(endpoint, 'baseline')
  return { seconds: (posted - started) / 1000, fetchSeconds: (fetched - started) / 1000, postSeconds: (posted - fetched) / 1000 }
}

const bench = await benchRuntime('all')
const { rt } = bench
const imap = await startDovecot({ highPerformance: true })
const secret = new Uint8Array(randomBytes(32))
const secretFile = path.join(bench.dir, 'gitlab-mailroom-secret')
await writeFile(secretFile, `${Buffer.from(secret).toString('base64')}\n`)
const endpoint = await startMailroomEndpoint(secret, LATENCY_MS)
const prefix = `bench-forward-${process.pid}`
const mailroomBin = findMailroom()
try {
  const pgVersion = (await rt.ctx.pool.query<{ v: string }>('SELECT version() AS v')).rows[0].v
  console.log('IMAP → forwarded to GitLab\'s mail_room API (gitlab delivery)')
  console.log(`  ${pgVersion.split(' on ')[0]} (${rt.ctx.settings.databaseUrl === undefined ? 'embedded' : 'DATABASE_URL'}); Dovecot (high-performance settings); endpoint checks each JWT${LATENCY_MS > 0 ? `, answers after ${LATENCY_MS} ms` : ''}; all on 127.0.0.1`)
  console.log(mailroomBin === undefined
    ? '  mail_room: not installed (apt install ruby-mail-room ruby-faraday, or BENCH_MAILROOM=<path>): no mail_room figure'
    : `  mail_room: ${mailroomBin}, run beside mailslot in each timed run on its own copy of the emails`)
  console.log(`  ${EMAILS} emails of ~${Math.round(makeEmail(0).length / 1024)} KB per run, ${RUNS} timed runs after ${WARMUP_RUNS} warm-up; Node ${process.version}; ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(2)}\n`)
  const results: Array<{ mailslot: MailslotResult, baseline: BaselineResult, mailroom?: MailroomResult }> = []
  for (let run = 1 - WARMUP_RUNS; run <= RUNS; run++) {
    const emails = Array.from({ length: EMAILS }, (_, i) => makeEmail((run + WARMUP_RUNS) * EMAILS + i))
    const twin = imap.addUser()
    await imap.appendMany(twin.user, 'INBOX', emails)
    const baseline = await runBaseline(imap.clientOptions({ user: twin.user, pass: twin.password }), endpoint, secret)
    const mailslot = await runMailslot(rt, imap, endpoint, secretFile, `${prefix}-${run}`, emails)
    if (run < 1) { console.log(`warm-up run (not counted): mailslot ${(EMAILS / mailslot.seconds).toFixed(0)} emails/s, baseline ${(EMAILS / baseline.seconds).toFixed(0)} emails/s`); continue }
    let mailroom: MailroomResult | undefined
    if (mailroomBin !== undefined) {
      const third = imap.addUser()
      await imap.appendMany(third.user, 'INBOX', emails)
      mailroom = await runMailroom(mailroomBin, bench.dir, imap, third, endpoint, secret, EMAILS, TIMEOUT_MS)
    }
    results.push({ mailslot, baseline, mailroom })
    console.log(`run ${run}: mailslot ${(EMAILS / mailslot.seconds).toFixed(0)} emails/s (${mailslot.seconds.toFixed(2)} s; all stored at ${mailslot.storedSeconds.toFixed(2)} s; each delivered once)`)
    console.log(`       baseline ${(EMAILS / baseline.seconds).toFixed(0)} emails/s (${baseline.seconds.toFixed(2)} s = fetch ${baseline.fetchSeconds.toFixed(2)} + POST ${baseline.postSeconds.toFixed(2)})`)
    console.log(`       mailslot / baseline ${(baseline.seconds / mailslot.seconds).toFixed(2)}`)
    if (mailroom !== undefined) {
      console.log(`       mail_room ${(EMAILS / mailroom.seconds).toFixed(0)} emails/s (${mailroom.seconds.toFixed(2)} s from its start; first arrival at ${mailroom.firstSeconds.toFixed(2)} s); mailslot / mail_room ${(mailroom.seconds / mailslot.seconds).toFixed(1)}`)
    }
  }
  const rate = median(results.map(r => EMAILS / r.mailslot.seconds))
  const baselineRate = median(results.map(r => EMAILS / r.baseline.seconds))
  const ratio = median(results.map(r => r.baseline.seconds / r.mailslot.seconds))
  console.log(`\nmedian of ${RUNS}: mailslot ${rate.toFixed(0)} emails/s, baseline ${baselineRate.toFixed(0)} emails/s, mailslot / baseline ${ratio.toFixed(2)}`)
  const withMailroom = results.filter(r => r.mailroom !== undefined) as Array<Required<typeof results[number]>>
  // mail_room's rate, and mailslot over it run by run (each ratio within one run), when it ran
  const mailroom = withMailroom.length === 0
    ? undefined
    : {
        rate: median(withMailroom.map(r => EMAILS / r.mailroom.seconds)),
        over: median(withMailroom.map(r => r.mailroom.seconds / r.mailslot.seconds))
      }
  if (mailroom !== undefined) console.log(`  mail_room ${mailroom.rate.toFixed(0)} emails/s; mailslot / mail_room ${mailroom.over.toFixed(1)} (median of the same runs' ratios)`)
  reportResult({
    benchmark: 'forward',
    figure: `${whole(rate)} emails/s${mailroom === undefined ? '' : `; mail_room beside it ${whole(mailroom.rate)} emails/s (${mailroom.over.toFixed(1)} ×)`}`,
    baseline: `${whole(baselineRate)} emails/s`,
    ratio,
    target: `≥ ${TARGET_RATIO} × baseline, ≥ ${whole(TARGET_RATE)} emails/s`,
    met: ratio >= TARGET_RATIO && rate >= TARGET_RATE
  })
  console.log(`load average now ${os.loadavg()[0].toFixed(2)} (other work on the machine slows both figures)`)
} finally {
  // the raw bytes are not left behind on a DATABASE_URL server
  await rt.ctx.pool.query('DELETE FROM inbound_emails WHERE mailbox_name LIKE $1', [`${prefix}-%`]).catch(() => {})
  await rt.ctx.pool.query('DELETE FROM mailboxes WHERE name LIKE $1', [`${prefix}-%`]).catch(() => {})
  await endpoint.close()
  await bench.close()
  await imap.stop()
}
