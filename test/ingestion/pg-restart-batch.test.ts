/**
 * PostgreSQL stopped (immediate, as a crash) and started again while a
 * mailbox of 200 messages is being fetched and stored: every message ends
 * stored once, marked read, and handled; nothing stays in flight.
 */
import t from 'tap'
import pg from 'pg'
import { startDovecot } from '../helpers/dovecot.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startPrivatePostgres } from '../helpers/private-postgres.ts'
import { startTestRuntime } from '../helpers/runtime.ts'
import { waitFor } from '../helpers/wait.ts'
import { imapMailbox } from './imap-fixture.ts'

const COUNT = 200

/** A count on a connection of its own, closed at once (none is open when the server stops). */
async function count (url: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {})
  await client.connect()
  try { return (await client.query<{ n: number }>(sql)).rows[0].n } finally { await client.end() }
}

t.test('PostgreSQL restarted mid-batch: each message stored once, seen, handled', async t => {
  const postgres = await startPrivatePostgres(t)
  const url = await postgres.createDatabase('restart_batch')
  const rt = await startTestRuntime(t, { databaseUrl: url })
  const imap = await startDovecot()
  t.teardown(async () => await imap.stop())
  const u = imap.addUser()
  // 30 KB each: a fetch that lasts long enough to be cut
  await imap.appendMany(u.user, 'INBOX', Array.from({ length: COUNT }, (_, i) => makeEmail(i, { size: 30 * 1024 })))
  const spec = imapMailbox(imap, u)
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201) // queues a sync

  const storedAtCrash = await waitFor(async () => {
    const n = await count(url, 'SELECT count(*)::int AS n FROM inbound_emails')
    return n > 0 ? n : undefined
  }, 'the first messages stored', 30_000, 20)
  await postgres.crash()
  t.teardown(postgres.start)
  t.comment(`${storedAtCrash} stored when PostgreSQL stopped`)
  await new Promise(resolve => setTimeout(resolve, 1500))
  const down = await rt.api('GET', '/readyz')
  t.equal(down.status, 503, '/readyz shows the database down meanwhile')
  t.not(down.body.checks.database, 'ok')
  t.equal((await rt.api('GET', '/healthz')).status, 200)

  await postgres.start()
  await waitFor(async () => (await rt.api('GET', '/readyz')).status === 200, 'ready again')
  // the sync cut short is due again: a poll asks for it now rather than at the next controller minute
  t.equal((await rt.api('POST', `/api/v1/mailboxes/${spec.name as string}/poll`)).status, 202)
  await waitFor(async () => (await imap.seen(u.user, 'INBOX')).length === COUNT &&
    await count(url, `SELECT count(*)::int AS n FROM inbound_emails WHERE status IN ('delivered', 'rejected', 'failed')`) === COUNT,
  'every message stored, seen and handled', 60_000, 250)

  t.equal(await count(url, 'SELECT count(*)::int AS n FROM inbound_emails'), COUNT, 'stored once each')
  t.equal(await count(url, 'SELECT count(DISTINCT message_id)::int AS n FROM inbound_emails'), COUNT, 'no message twice')
  t.equal(await count(url, `SELECT count(*)::int AS n FROM inbound_emails WHERE status IN ('received', 'processing')`), 0, 'nothing stuck')
  t.equal(await count(url, `SELECT count(*)::int AS n FROM inbound_emails WHERE status = 'failed'`), 0, 'none failed for the database\'s sake')
  const health = await waitFor(async () => {
    const res = await rt.api('GET', `/api/v1/mailboxes/${spec.name as string}`)
    return res.body.health.state === 'ok' ? res.body.health : undefined
  }, 'mailbox health ok')
  t.equal(health.lastError, null)
})
