import t from 'tap'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { startTestRuntime } from './helpers/runtime.ts'
import { createTestDatabase } from './helpers/db.ts'
import { runCli } from './helpers/cli.ts'

const mailbox = { name: 'declared', provider: 'imap', imap: { host: '127.0.0.1', port: 9, tls: 'none', user: 'u', password: 'declared-pw-1' }, address: 'incoming+%{key}@example.com' }

t.test('MAILSLOT_CONFIG declares mailboxes and projects; a second start updates, never doubles', async t => {
  const dir = t.testdir()
  const file = path.join(dir, 'mailslot.json')
  await writeFile(file, JSON.stringify({ mailboxes: [mailbox], projects: [{ path: 'group/app', serviceDesk: true }] }))
  const databaseUrl = await createTestDatabase(t)
  const rt = await startTestRuntime(t, { role: 'web', databaseUrl, env: { MAILSLOT_CONFIG: file } })
  const list = await rt.api('GET', '/api/v1/mailboxes')
  t.same(list.body.items.map((m: { name: string }) => m.name), ['declared'])
  t.notMatch(list.text, 'declared-pw-1')
  const projects = (await rt.api('GET', '/api/v1/projects')).body.items
  t.equal(projects.length, 1)
  t.equal(projects[0].addresses.serviceDesk, `incoming+group-app-${projects[0].id as number}-issue-@example.com`)

  await writeFile(file, JSON.stringify({ mailboxes: [{ ...mailbox, pollIntervalSeconds: 120 }], projects: [{ path: 'group/app' }] }))
  const rt2 = await startTestRuntime(t, { role: 'web', databaseUrl, env: { MAILSLOT_CONFIG: file } })
  const again = (await rt2.api('GET', '/api/v1/mailboxes/declared')).body
  t.equal(again.pollIntervalSeconds, 120, 'updated in place')
  t.equal((await rt2.api('GET', '/api/v1/projects')).body.items.length, 1, 'not doubled')
})

t.test('a bad config file stops start-up naming MAILSLOT_CONFIG and the field', async t => {
  const dir = t.testdir()
  const file = path.join(dir, 'bad.json')
  await writeFile(file, JSON.stringify({ mailboxes: [{ ...mailbox, imap: { ...mailbox.imap, port: 'x' } }] }))
  const env = { DATABASE_URL: await createTestDatabase(t), MAILSLOT_DATA_DIR: path.join(dir, 'data'), MAILSLOT_CONFIG: file }
  const r = await runCli(['migrate'], env)
  t.equal(r.code, 2)
  t.match(r.stderr, /MAILSLOT_CONFIG: .*mailboxes\[0\] "declared": imap\.port/)

  const secret = 'whsec_' + Buffer.from('webhook-secret-value-1234').toString('base64')
  await writeFile(file, JSON.stringify({ mailboxes: [{ ...mailbox, delivery: { kind: 'webhook', url: 'http://10.1.2.3/hook', secret } }] }))
  const refused = await runCli(['migrate'], env)
  t.equal(refused.code, 2)
  t.match(refused.stderr, /MAILSLOT_CONFIG: .*mailboxes\[0\] "declared": delivery\.url is refused: 10\.1\.2\.3 is a private address/)
})
