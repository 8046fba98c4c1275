/**
 * bench:poll-scale — 10,000 IMAP mailboxes polled once each by mailslot (the
 * poller claims the due mailboxes; it connects, logs in, lists, logs out and
 * records health), against the same machine's raw
 * ceiling: a bare imapflow connect-login-select-search-logout loop over the
 * same users at the same concurrency. Dovecot with its high-performance login
 * settings. Target: mailslot ≥ 0.8 × the raw loop.
 * MAILBOXES (default 10000) and CONCURRENCY (default: the sync workers') may be set.
 */
import { ImapFlow } from 'imapflow'
import { startDovecot } from '../../test/helpers/dovecot.ts'
import { benchRuntime } from './common.ts'
import { transaction } from '../../src/db/pool.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { POLL_CONCURRENCY } from '../../src/ingestion/poller.ts'
import { reportResult, whole } from './result.ts'

const N = Number(process.env.MAILBOXES ?? 10_000)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? POLL_CONCURRENCY)

const imap = await startDovecot({ highPerformance: true })
const users = Array.from({ length: N }, (_, i) => imap.addUser(`poll${i}@example.com`, `pw${i}`))

async function rawLoop (): Promise<number> {
  let next = 0
  const t0 = Date.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < users.length) {
      const u = users[next++]
      const client = new ImapFlow({
        host: imap.host, port: imap.port, secure: false, doSTARTTLS: false, auth: { user: u.user, pass: u.password },
        logger: false, disableAutoIdle: true
      })
      await client.connect()
      const lock = await client.getMailboxLock('INBOX')
      await client.search({ seen: false }, { uid: true })
      lock.release()
      await client.logout()
    }
  }))
  return (Date.now() - t0) / 1000
}

async function mailslotPass (): Promise<{ seconds: number, ok: number }> {
  const bench = await benchRuntime('all')
  const { ctx } = bench.rt
  try {
    // made in one transaction and not due, so that the poller starts on them all at once below
    await transaction(ctx.pool, async (client) => {
      for (const u of users) {
        await createMailbox(ctx, client, {
          name: u.user.replace(/[@.]/g, '-'), provider: 'imap', imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password }
        })
      }
      await client.query("UPDATE mailboxes SET next_poll_at = 'infinity'")
    })
    const t0 = Date.now()
    await ctx.pool.query('UPDATE mailboxes SET next_poll_at = now(), last_success_at = NULL')
    for (;;) {
      const { rows } = await ctx.pool.query<{ done: number, failed: number }>(
        `SELECT count(*) FILTER (WHERE last_success_at IS NOT NULL)::int AS done, count(*) FILTER (WHERE last_error IS NOT NULL AND last_success_at IS NULL)::int AS failed FROM mailboxes`)
      if (rows[0].done + rows[0].failed >= N) {
        const seconds = (Date.now() - t0) / 1000
        const { rows: errors } = await ctx.pool.query<{ error: string, n: number }>(
          `SELECT last_error AS error, count(*)::int AS n FROM mailboxes WHERE last_error IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 5`)
        for (const e of errors) console.log(`  not ok: ${e.n} × ${e.error}`)
        return { seconds, ok: rows[0].done }
      }
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  } finally {
    await bench.close()
  }
}

const raw = await rawLoop()
const ms = await mailslotPass()
const perMin = (s: number): number => Math.round(N / s * 60)
console.log(`bench:poll-scale  ${N} mailboxes, concurrency ${CONCURRENCY}, Dovecot high-performance login settings`)
console.log(`  raw loop   ${raw.toFixed(1)} s = ${perMin(raw)} mailboxes/min`)
console.log(`  mailslot   ${ms.seconds.toFixed(1)} s = ${perMin(ms.seconds)} mailboxes/min (${ms.ok} ok)`)
console.log(`  ratio      ${(raw / ms.seconds).toFixed(2)} × the raw loop (target ≥ 0.8)`)
reportResult({
  benchmark: 'poll-scale',
  figure: `${whole(perMin(ms.seconds))} mailboxes/min (${ms.ok} of ${N} ok)`,
  baseline: `${whole(perMin(raw))} mailboxes/min (raw loop)`,
  ratio: raw / ms.seconds,
  target: '≥ 0.8 × baseline',
  met: raw / ms.seconds >= 0.8 && ms.ok === N
})
await imap.stop()
