/**
 * PostgreSQL going away under a running `mailslot start`, and not there yet
 * when it starts: the process waits, stays up, and carries on when it is back.
 * One private PostgreSQL for the file, stopped and started by the tests.
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import pg from 'pg'
import t, { type Test } from 'tap'
import { spawnWorker, startServer } from '../helpers/cli.ts'
import { startDovecot } from '../helpers/dovecot.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startPrivatePostgres } from '../helpers/private-postgres.ts'
import { waitFor } from '../helpers/wait.ts'

const postgres = await startPrivatePostgres(t)

/** One statement on a connection of its own, closed at once: none is open when the server is stopped. */
async function query<R extends pg.QueryResultRow> (url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {})
  await client.connect()
  try { return (await client.query<R>(sql, params)).rows } finally { await client.end() }
}

function env (url: string, dir: string): Record<string, string> {
  return { DATABASE_URL: url, MAILSLOT_DATA_DIR: dir, MAILSLOT_ADMIN_TOKEN: randomBytes(18).toString('base64url'), MAILSLOT_ENCRYPTION_KEY: randomBytes(32).toString('base64') }
}

/** An IMAP server that accepts connections and never says a word: a sync waits on it, holding its mailbox lock. */
async function silentServer (t: Test): Promise<number> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer(s => { sockets.add(s); s.on('error', () => {}) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise(resolve => server.close(resolve))
  })
  return (server.address() as net.AddressInfo).port
}

t.test('PostgreSQL stopped while a sync holds its lock: the process stays up, is unready, and recovers', async t => {
  const url = await postgres.createDatabase('blip_sync')
  const e = env(url, t.testdir())
  const server = await startServer(e)
  let exited: number | null | undefined
  server.child.on('exit', code => { exited = code })
  t.teardown(async () => { if (exited === undefined) await server.stop() })
  const api = async (method: string, path: string, body?: unknown): Promise<Response> => await fetch(server.address + path, {
    method, headers: { authorization: `Bearer ${e.MAILSLOT_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body)
  })

  const silent = await silentServer(t)
  const added = await api('POST', '/api/v1/mailboxes', { name: 'silent', provider: 'imap', imap: { host: '127.0.0.1', port: silent, tls: 'none', user: 'u', password: 'p', connectTimeoutSeconds: 10 } })
  t.equal(added.status, 201)
  await waitFor(async () => (await query(url, "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted")).length > 0, 'the sync to hold its mailbox lock')

  await postgres.crash()
  t.teardown(postgres.start)
  // long enough for every connection of the process to notice
  await new Promise(resolve => setTimeout(resolve, 3000))
  t.equal(exited, undefined, 'the process is still running', { output: server.output().slice(-2000) })
  t.equal((await fetch(server.address + '/healthz')).status, 200, '/healthz answers while the database is down')
  t.equal((await fetch(server.address + '/readyz')).status, 503, '/readyz says unavailable while the database is down')

  await postgres.start()
  await waitFor(async () => (await fetch(server.address + '/readyz')).status === 200, '/readyz 200 once the database is back')

  const imap = await startDovecot()
  t.teardown(async () => await imap.stop())
  const u = imap.addUser()
  await imap.append(u.user, 'INBOX', makeEmail(1))
  const mailbox = { name: 'working', provider: 'imap', imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password }, delivery: { kind: 'builtin' } }
  t.equal((await api('POST', '/api/v1/mailboxes', mailbox)).status, 201)
  await waitFor(async () => (await imap.seen(u.user, 'INBOX')).length === 1, 'the message to be stored and marked read', 30_000)
  const rows = await query<{ n: number }>(url, "SELECT count(*)::int AS n FROM inbound_emails WHERE mailbox_name = 'working'")
  t.equal(rows[0].n, 1, 'stored exactly once')
  t.equal(exited, undefined, 'still running')
  t.equal(await server.stop(), 0, 'exits 0 on SIGTERM')
})

t.test('started while PostgreSQL is down: waits, says so, and starts once it is up', async t => {
  const url = await postgres.createDatabase('blip_start')
  await postgres.crash()
  t.teardown(postgres.start)
  const worker = spawnWorker(env(url, t.testdir()))
  let exited = false
  void worker.done.then(() => { exited = true })
  t.teardown(async () => { if (!exited) { worker.child.kill('SIGKILL'); await worker.done } })
  await waitFor(async () => /database unavailable, retrying in \d+ s/.test(worker.output()), 'the retry log line', 20_000)
  t.notOk(exited, 'still waiting')
  await postgres.start()
  await waitFor(async () => worker.output().includes('"msg":"mailslot started"'), 'mailslot started', 30_000)
  worker.child.kill('SIGTERM')
  const { code } = await worker.done
  t.equal(code, 0, 'exits 0 on SIGTERM')
})

t.test('the database going away between the migrations and pg-boss is waited for too', async t => {
  // found by the chaos run: a worker restarted during a PostgreSQL restart passed
  // the migrations, then exited 1 when pg-boss could not start
  const url = await postgres.createDatabase('blip_boss')
  const worker = spawnWorker({ ...env(url, t.testdir()), MAILSLOT_FAULT: 'start.after-boss-start:blip' })
  let exited = false
  void worker.done.then(() => { exited = true })
  t.teardown(async () => { if (!exited) { worker.child.kill('SIGKILL'); await worker.done } })
  await waitFor(async () => worker.output().includes('"msg":"mailslot started"') || exited, 'mailslot started', 30_000)
  t.notOk(exited, 'still running')
  t.match(worker.output(), /database unavailable, retrying in 1 s/, 'said it would retry')
  const [{ n }] = await query<{ n: number }>(url, "SELECT count(*)::int AS n FROM mailslot_boss.queue WHERE name = 'email-handle'")
  t.equal(n, 1, 'the queues were created by the second attempt')
  worker.child.kill('SIGTERM')
  const { code } = await worker.done
  t.equal(code, 0, 'exits 0 on SIGTERM')
})

t.test('a wrong password fails at once, in one line, exit 2', async t => {
  const u = new URL(postgres.url)
  const wrong = randomBytes(9).toString('hex')
  u.password = wrong
  const worker = spawnWorker(env(u.toString(), t.testdir()))
  const { code, output } = await worker.done
  t.equal(code, 2)
  t.match(output, /^mailslot: .*password authentication failed/m)
  t.notMatch(output, /\n\s+at /, 'no stack trace')
  t.notMatch(output, wrong, 'the password is not shown')
})
