import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { runCli, startServer } from '../helpers/cli.ts'

const pidAlive = (dir: string): boolean => {
  const f = path.join(dir, 'pg', 'postmaster.pid')
  if (!existsSync(f)) return false
  try { process.kill(Number(readFileSync(f, 'utf8').split('\n')[0]), 0); return true } catch { return false }
}

t.test('with no DATABASE_URL: embedded PostgreSQL in the data dir, reused on the next start with the same token', async t => {
  const dir = t.testdir()
  const env = { MAILSLOT_DATA_DIR: dir }
  const first = await startServer(env)
  t.equal((await fetch(first.address + '/healthz')).status, 200)
  const token = readFileSync(path.join(dir, 'admin-token'), 'utf8').trim()
  t.match(first.output(), 'Admin API token')
  t.match(first.output(), token, 'the generated token is printed at first start')
  const added = await fetch(first.address + '/api/v1/mailboxes', {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'kept', provider: 'imap', imap: { host: 'h', user: 'u', password: 'p' } })
  })
  t.equal(added.status, 201)
  // a CLI command meanwhile shares the running database
  const listed = await runCli(['mailbox', 'list', '--json'], env)
  t.equal(listed.code, 0, listed.stderr)
  t.ok(pidAlive(dir), 'the CLI left the server database running')
  t.equal(await first.stop(), 0)
  t.notOk(pidAlive(dir), 'the embedded PostgreSQL stopped with the server')

  const second = await startServer(env)
  t.notMatch(second.output(), 'Admin API token', 'the token is printed only once')
  const res = await fetch(second.address + '/api/v1/mailboxes/kept', { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 200, 'same token, same data')
  t.equal(await second.stop(), 0)
})

t.test('two migrate processes at once on a fresh data dir both succeed', async t => {
  const dir = t.testdir()
  const [a, b] = await Promise.all([runCli(['migrate'], { MAILSLOT_DATA_DIR: dir }), runCli(['migrate'], { MAILSLOT_DATA_DIR: dir })])
  t.equal(a.code, 0, a.stderr)
  t.equal(b.code, 0, b.stderr)
  t.notOk(pidAlive(dir), 'the last one out stopped the database')
})
