/**
 * Dovecot stopped (open sessions cut) and started again while a mailbox of
 * 400 messages is being fetched: the mailbox shows `failing` with the error
 * meanwhile; the queued fetch jobs recover by their own retries; at the end
 * every message is stored once, marked read and handled, and health is ok.
 */
import t from 'tap'
import { startDovecot } from '../helpers/dovecot.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startTestRuntime } from '../helpers/runtime.ts'
import { countRows } from '../helpers/rows.ts'
import { waitFor } from '../helpers/wait.ts'
import { imapMailbox } from './imap-fixture.ts'

// far more than a sync fetches itself (BATCHES_PER_COMMIT × 25), so that the rest goes to
// mailbox-fetch jobs and the fetch still runs when the halt lands, however fast the machine
const COUNT = 1200

t.test('Dovecot halted mid-fetch and back: failing meanwhile, then each message stored once, seen, handled', async t => {
  const rt = await startTestRuntime(t)
  const imap = await startDovecot()
  t.teardown(async () => await imap.stop())
  const u = imap.addUser()
  // 20 KB each: a fetch that lasts long enough to be cut
  await imap.appendMany(u.user, 'INBOX', Array.from({ length: COUNT }, (_, i) => makeEmail(i, { size: 20 * 1024 })))
  const spec = imapMailbox(imap, u)
  const name = spec.name as string
  const q = async (where = ''): Promise<number> => await countRows(rt, `SELECT count(*)::int AS n FROM inbound_emails WHERE mailbox_name = $1 ${where}`, [name])
  const health = async (): Promise<any> => (await rt.api('GET', `/api/v1/mailboxes/${name}`)).body.health
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201) // queues a sync

  const storedAtHalt = await waitFor(async () => {
    const n = await q()
    return n > 0 ? n : undefined
  }, 'the first messages stored', 30_000, 20)
  await imap.halt()
  t.teardown(imap.resume)
  t.comment(`${storedAtHalt} stored when Dovecot stopped`)

  // a session opened before the halt may outlive it (its imap process finishes the command it
  // runs), so a poll asked for now makes sure a new connection meets the outage
  t.equal((await rt.api('POST', `/api/v1/mailboxes/${name}/poll`)).status, 202)
  // the outage shows as a failing mailbox, or, when the sync's own share completed just before the
  // halt and its success was recorded after the fetch jobs' failure, as fetch jobs waiting to retry
  const outage = await waitFor(async () => {
    const h = await health()
    if (h.state === 'failing') return { health: h }
    const { rows: [r] } = await rt.ctx.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM mailslot_boss.job WHERE name = 'mailbox-fetch' AND (state = 'retry' OR retry_count > 0)`)
    return r.n > 0 ? { retrying: r.n } : undefined
  }, 'the outage seen: the mailbox failing or fetch jobs retrying', 30_000)
  if (outage.health !== undefined) {
    t.type(outage.health.lastError, 'string', `the error is shown: ${String(outage.health.lastError)}`)
    t.ok(outage.health.consecutiveFailures >= 1)
  } else {
    t.ok((outage.retrying ?? 0) > 0, `${String(outage.retrying)} fetch jobs failed and wait to retry`)
  }
  t.equal((await rt.api('GET', '/healthz')).status, 200, 'the process answers meanwhile')

  await imap.resume()
  // the fetch jobs cut short come back by their own retries (pg-boss, 5 s then longer)
  const retried = await waitFor(async () => {
    const { rows } = await rt.ctx.pool.query<{ state: string, retried: boolean }>(
      `SELECT state, retry_count > 0 AS retried FROM mailslot_boss.job WHERE name = 'mailbox-fetch'`)
    return rows.length > 0 && rows.every(r => r.state === 'completed') ? rows.filter(r => r.retried).length : undefined
  }, 'every fetch job completed', 60_000, 250)
  t.comment(`${retried} fetch jobs completed on a retry`)
  // the sync's own share that was cut is listed again by the next sync: a poll asks for it now, not at the next controller minute
  t.equal((await rt.api('POST', `/api/v1/mailboxes/${name}/poll`)).status, 202)
  await waitFor(async () => (await imap.seen(u.user, 'INBOX')).length === COUNT &&
    await q(`AND status IN ('delivered', 'rejected', 'failed')`) === COUNT,
  'every message stored, seen and handled', 60_000, 250)

  t.equal(await q(), COUNT, 'stored once each')
  t.equal(await countRows(rt, 'SELECT count(DISTINCT message_id)::int AS n FROM inbound_emails'), COUNT, 'no message twice')
  t.equal(await q(`AND status IN ('received', 'processing')`), 0, 'nothing stuck')
  t.equal(await q(`AND status = 'failed'`), 0, 'none failed')
  const ok = await waitFor(async () => {
    const h = await health()
    return h.state === 'ok' ? h : undefined
  }, 'mailbox health ok')
  t.equal(ok.lastError, null)
  t.equal(ok.consecutiveFailures, 0)
})
