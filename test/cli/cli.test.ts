import t from 'tap'
import pg from 'pg'
import { createTestDatabase } from '../helpers/db.ts'
import { runCli, startServer } from '../helpers/cli.ts'

const spec = (name: string): string => JSON.stringify({
  name, provider: 'imap', imap: { host: '127.0.0.1', port: 1, tls: 'none', user: 'u@example.com', password: 'cli-secret-pw-4242' }
})

// every subtest spawns the real CLI (a second or more each on a loaded machine)
t.setTimeout(300_000)

t.test('a bad setting stops start-up and is named', async t => {
  const r = await runCli(['start'], { PORT: 'abc', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/x' })
  t.equal(r.code, 2)
  t.match(r.stderr, /PORT/)
  const r2 = await runCli(['migrate'], { MAILSLOT_ENCRYPTION_KEY: 'c2hvcnQ=' })
  t.equal(r2.code, 2)
  t.match(r2.stderr, /MAILSLOT_ENCRYPTION_KEY/)
})

t.test('usage errors exit 2', async t => {
  t.equal((await runCli(['frobnicate'], {})).code, 2)
  t.equal((await runCli(['mailbox', 'add'], {})).code, 2)
  t.equal((await runCli(['--help'], {})).code, 0)
})

t.test('mailbox add, list and poll through the CLI', async t => {
  const url = await createTestDatabase(t)
  const env = { DATABASE_URL: url, MAILSLOT_DATA_DIR: t.testdir() }
  const added = await runCli(['mailbox', 'add', '--file', '-'], env, spec('cli-box'))
  t.equal(added.code, 0, added.stderr)
  t.equal(JSON.parse(added.stdout).name, 'cli-box')
  t.notMatch(added.stdout, 'cli-secret-pw-4242')

  const listed = await runCli(['mailbox', 'list', '--json'], env)
  t.equal(listed.code, 0, listed.stderr)
  t.same(JSON.parse(listed.stdout).items.map((m: { name: string }) => m.name), ['cli-box'])
  t.notMatch(listed.stdout + listed.stderr, 'cli-secret-pw-4242')
  const table = await runCli(['mailbox', 'list'], env)
  t.match(table.stdout, /NAME\s+PROVIDER\s+HEALTH/)
  t.match(table.stdout, /cli-box\s+imap\s+pending/)

  const bad = await runCli(['mailbox', 'add', '--file', '-'], env, JSON.stringify({ name: 'x', provider: 'imap', imap: { host: 'h', user: 'u', port: 0 } }))
  t.equal(bad.code, 2)
  t.match(bad.stderr, /invalid_imap\.port/)

  t.equal((await runCli(['mailbox', 'poll', 'cli-box'], env)).code, 0)
  const missing = await runCli(['mailbox', 'poll', 'nope'], env)
  t.equal(missing.code, 1)
  t.match(missing.stderr, /not_found/)

  const db = new pg.Client({ connectionString: url }); await db.connect()
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM mailslot_boss.job WHERE name = 'mailbox-sync'`)
  await db.end()
  t.ok(rows[0].n >= 1, 'a sync job was queued')
})

t.test('start serves /healthz and stops gracefully on SIGTERM', async t => {
  const url = await createTestDatabase(t)
  const server = await startServer({ DATABASE_URL: url, MAILSLOT_DATA_DIR: t.testdir(), MAILSLOT_ADMIN_TOKEN: 'a-long-enough-admin-token' })
  const res = await fetch(server.address + '/healthz')
  t.same(await res.json(), { status: 'ok' })
  const api = await fetch(server.address + '/api/v1/mailboxes', { headers: { authorization: 'Bearer a-long-enough-admin-token' } })
  t.equal(api.status, 200)
  t.equal(await server.stop('SIGTERM'), 0)
  t.match(server.output(), /"msg":"stopped"/)
  t.notMatch(server.output(), 'a-long-enough-admin-token', 'the token is not logged')
})

t.test('--role web and --role worker start', async t => {
  const url = await createTestDatabase(t)
  const web = await startServer({ DATABASE_URL: url, MAILSLOT_DATA_DIR: t.testdir() }, ['--role', 'web'])
  t.equal((await fetch(web.address + '/healthz')).status, 200)
  const worker = await startServer({ DATABASE_URL: url, MAILSLOT_DATA_DIR: t.testdir() }, ['--role', 'worker'])
  t.equal(worker.address, '', 'a worker does not listen')
  t.equal(await worker.stop('SIGINT'), 0)
  t.equal(await web.stop('SIGTERM'), 0)
})
