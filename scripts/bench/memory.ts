/**
 * bench:memory — RSS growth while one 25 MB email (a 24 MB attachment,
 * base64) is stored and handled by the built-in handler, sampled every 5 ms.
 * Target: growth < 3 × the email's size. Baseline (same run): the growth for
 * holding the raw bytes alone (one copy), measured the same way.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { benchRuntime, median } from './common.ts'
import { reportResult } from './result.ts'
import { storeFetched } from '../../src/inbound/store.ts'
import { handleEmails } from '../../src/inbound/handle.ts'
import { createProject } from '../../src/handlers/builtin/projects.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'

const SIZE = 25 * 1024 * 1024

function bigEmail (to: string, seq: number): Buffer {
  const payload = randomBytes(Math.floor((SIZE - 4096) * 3 / 4)).toString('base64').replace(/.{76}/g, '$&\r\n')
  return Buffer.from([
    'From: Big Sender <big@example.org>', `To: ${to}`, `Subject: A 25 MB email ${seq}`, `Message-ID: <big-${seq}-${Date.now()}@example.org>`,
    'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b1"', '', '--b1', 'Content-Type: text/plain; charset=utf-8', '',
    'See the attached archive.', '--b1', 'Content-Type: application/octet-stream; name="archive.bin"',
    'Content-Disposition: attachment; filename="archive.bin"', 'Content-Transfer-Encoding: base64', '', payload, '--b1--', ''
  ].join('\r\n'))
}

async function peakGrowth (fn: () => Promise<void>): Promise<number> {
  global.gc?.()
  await new Promise(resolve => setTimeout(resolve, 100))
  const base = process.memoryUsage().rss
  let peak = base
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 5)
  await fn()
  peak = Math.max(peak, process.memoryUsage().rss)
  clearInterval(timer)
  return peak - base
}

/** One measurement in this (fresh) process: RSS that was never used before is what counts. */
async function measureOnce (): Promise<void> {
  const bench = await benchRuntime('web')
  const { ctx } = bench.rt
  const mailbox = await createMailbox(ctx, ctx.pool, { name: 'big', provider: 'imap', imap: { host: '127.0.0.1', port: 9, tls: 'none', user: 'u', password: 'p' }, address: 'incoming+%{key}@example.com', maxEmailBytes: 30 * 1024 * 1024 })
  const project = await createProject(ctx.pool, { path: 'big/files' })
  const to = `incoming+${project.slug}-${project.id}-${project.incomingEmailToken}-issue@example.com`
  // warm up the code paths with a small email, so that what follows is the big one's cost
  const small = Buffer.from(`From: a@example.org\r\nTo: ${to}\r\nSubject: warm\r\nMessage-ID: <warm@x>\r\n\r\nhello\r\n`)
  await handleEmails(ctx, (await storeFetched(ctx, { id: mailbox.id, name: 'big' }, [{ ref: { key: 'warm' }, raw: small, complete: true }])).stored)
  const raw = bigEmail(to, 1)
  const baseline = await peakGrowth(async () => { const copy = Buffer.from(raw); copy[0] = raw[0] })
  const growth = await peakGrowth(async () => {
    const { stored } = await storeFetched(ctx, { id: mailbox.id, name: 'big' }, [{ ref: { key: 'big', size: raw.length }, raw, complete: true }])
    await handleEmails(ctx, stored)
  })
  const { rows } = await ctx.pool.query(`SELECT status FROM inbound_emails WHERE provider_key = 'big'`)
  await bench.close()
  if (rows[0]?.status !== 'delivered') throw new Error(`the big email ended ${JSON.stringify(rows[0])}`)
  process.stdout.write(JSON.stringify({ growth, baseline }) + '\n')
}

if (process.argv[2] === '--once') {
  await measureOnce()
} else {
  const growth: number[] = []; const baseline: number[] = []
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--once'], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(r.stderr)
    const m = JSON.parse(r.stdout.trim().split('\n').pop()!)
    growth.push(m.growth); baseline.push(m.baseline)
  }
  const mb = (n: number): string => (n / 1024 / 1024).toFixed(1)
  const g = median(growth); const b = median(baseline)
  console.log(`bench:memory  one ${mb(SIZE)} MB email stored + handled (builtin; its 18 MB attachment is over the 10 MB attachment limit), fresh process per run`)
  console.log(`  RSS growth  median ${mb(g)} MB  (runs: ${growth.map(mb).join(', ')})  = ${(g / SIZE).toFixed(2)} × the email (target < 3 ×)`)
  console.log(`  baseline    one more copy of the bytes, same process: ${mb(b)} MB (runs: ${baseline.map(mb).join(', ')})`)
  reportResult({
    benchmark: 'memory',
    figure: `RSS +${mb(g)} MB = ${(g / SIZE).toFixed(2)} × the email`,
    baseline: `${mb(b)} MB (one more copy of the bytes)`,
    ratio: null,
    target: '< 3 × the email',
    met: g / SIZE < 3
  })
}
