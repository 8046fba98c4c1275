/**
 * MAILSLOT_CONFIG as YAML or JSON: secret references resolved at start (and
 * working against a real IMAP server), the removal rule, and errors that
 * name the file, the entry and the field (exit 2), through the real CLI too.
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { startTestRuntime } from '../helpers/runtime.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { runCli } from '../helpers/cli.ts'
import { startDovecot } from '../helpers/dovecot.ts'
import { makeEmail } from '../helpers/emails.ts'
import { finishedCount } from '../helpers/rows.ts'
import { waitFor } from '../helpers/wait.ts'
import { loadMailbox, mailboxIdByName } from '../../src/mailboxes/repository.ts'
import { checkConfigFile } from '../../src/runtime/config-file.ts'

const unreachable = (name: string): Record<string, unknown> =>
  ({ name, provider: 'imap', imap: { host: '127.0.0.1', port: 9, tls: 'none', user: 'u', password: `pw-${name}` } })

t.test('YAML with secret references: the password from a file logs in to Dovecot and syncs; the env one is stored decrypted', async t => {
  const dovecot = await startDovecot()
  t.teardown(dovecot.stop)
  const user = dovecot.addUser()
  await dovecot.append(user.user, 'INBOX', makeEmail(1))
  const dir = t.testdir({ secrets: { 'imap-pw': user.password + '\n' } })
  process.env.MAILSLOT_TEST_GRAPH_SECRET = 'graph-secret-from-env'
  t.teardown(() => { delete process.env.MAILSLOT_TEST_GRAPH_SECRET })
  const file = path.join(dir, 'mailslot.yml')
  await writeFile(file, `# declared by the operator
mailboxes:
  - name: support
    provider: imap
    imap:
      host: 127.0.0.1
      port: ${dovecot.port}
      tls: none
      user: ${user.user}
      password: { file: secrets/imap-pw }
    pollIntervalSeconds: 5
  - name: m365
    provider: graph
    mode: poll
    graph: { tenantId: t, clientId: c, clientSecret: { env: MAILSLOT_TEST_GRAPH_SECRET }, user: x@example.com, baseUrl: "http://127.0.0.1:9", authorityHost: "http://127.0.0.1:9" }
    pollIntervalSeconds: 86400
projects:
  - path: group/app
`)
  const rt = await startTestRuntime(t, { env: { MAILSLOT_CONFIG: file } })
  await waitFor(async () => await finishedCount(rt, 'support') === 1, 'the message to be fetched with the password from the file')
  const health = (await rt.api('GET', '/api/v1/mailboxes/support')).body.health
  t.equal(health.state, 'ok')
  const support = await loadMailbox(rt.ctx.pool, rt.ctx.keyring, await mailboxIdByName(rt.ctx.pool, 'support'))
  t.equal(support?.spec.imap?.password, user.password, 'stored without the trailing newline')
  const m365 = await loadMailbox(rt.ctx.pool, rt.ctx.keyring, await mailboxIdByName(rt.ctx.pool, 'm365'))
  t.equal(m365?.spec.graph?.clientSecret, 'graph-secret-from-env')
  const stored = await rt.ctx.pool.query<{ config: unknown, secrets: Buffer }>('SELECT config, secrets FROM mailboxes')
  t.notMatch(JSON.stringify(stored.rows), /secrets\/imap-pw|MAILSLOT_TEST_GRAPH_SECRET|graph-secret-from-env/, 'the reference is not stored, the value only encrypted')
  t.notMatch(rt.logs(), user.password)
})

t.test('removal rule: a mailbox no longer declared is removed, an API-created one is untouched, a project is kept', async t => {
  const dir = t.testdir()
  const databaseUrl = await createTestDatabase(t)
  const yml = path.join(dir, 'mailslot.yml')
  await writeFile(yml, JSON.stringify({ mailboxes: [unreachable('a'), unreachable('b')], projects: [{ path: 'group/one' }, { path: 'group/two' }] }))
  const rt = await startTestRuntime(t, { role: 'web', databaseUrl, env: { MAILSLOT_CONFIG: yml } })
  t.equal((await rt.api('POST', '/api/v1/mailboxes', unreachable('c'))).status, 201)
  await rt.stop()

  const json = path.join(dir, 'mailslot.json')
  await writeFile(json, JSON.stringify({ mailboxes: [{ ...unreachable('a'), pollIntervalSeconds: 300 }], projects: [{ path: 'group/one', serviceDesk: true }] }))
  const rt2 = await startTestRuntime(t, { role: 'web', databaseUrl, env: { MAILSLOT_CONFIG: json } })
  const items = (await rt2.api('GET', '/api/v1/mailboxes')).body.items as Array<{ name: string, pollIntervalSeconds?: number }>
  t.same(items.map(m => m.name), ['a', 'c'], 'b removed, c (API) untouched')
  t.equal(items[0].pollIntervalSeconds, 300, 'a updated')
  const projects = (await rt2.api('GET', '/api/v1/projects')).body.items as Array<{ path: string, serviceDesk: boolean }>
  t.same(projects.map(p => [p.path, p.serviceDesk]), [['group/one', true], ['group/two', false]], 'a project is updated, never removed')
  t.match(rt2.logs(), /"projects":\["group\/two"\].*no longer declared/)

  // an empty list removes every declared mailbox, and still never an API-created one
  await rt2.stop()
  await writeFile(json, '{"mailboxes": []}')
  const rt3 = await startTestRuntime(t, { role: 'web', databaseUrl, env: { MAILSLOT_CONFIG: json } })
  t.same((await rt3.api('GET', '/api/v1/mailboxes')).body.items.map((m: { name: string }) => m.name), ['c'])
})

t.test('the API refuses a secret reference, naming the field', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const res = await rt.api('POST', '/api/v1/mailboxes', { ...unreachable('r'), imap: { ...unreachable('r').imap as object, password: { file: '/etc/hostname' } } })
  t.equal(res.status, 400)
  t.equal(res.body.error.code, 'invalid_imap.password')
  t.match(res.body.error.message, /secret references/)
  const user = await rt.api('POST', '/api/v1/mailboxes', { ...unreachable('r'), imap: { ...unreachable('r').imap as object, user: { env: 'HOME' } } })
  t.equal(user.body.error.code, 'invalid_imap.user', 'nor a reference for the user')
})

t.test('config check: ok on a good file without a database; every error names file, entry and field; exit 2', async t => {
  const dir = t.testdir({ pw: 'x\n' })
  const write = async (name: string, text: string): Promise<string> => {
    await writeFile(path.join(dir, name), text)
    return path.join(dir, name)
  }
  const good = await write('good.yml', `mailboxes:\n  - name: a\n    provider: imap\n    imap: { host: h, user: u, password: { file: pw } }\n  - ${JSON.stringify(unreachable('b'))}\nprojects: [{ path: g/p }]\noauthApps: []\n`)
  const ok = await runCli(['config', 'check', good], {})
  t.equal(ok.code, 0, ok.stderr)
  t.equal(ok.stdout, 'ok: 2 mailboxes, 1 projects, 0 OAuth apps\n')

  const cases: Array<[string, string, RegExp]> = [
    ['missing-file.yml', 'mailboxes:\n  - name: a\n    provider: imap\n    imap: { host: h, user: u, password: { file: /nonexistent/pw } }\n',
      /missing-file\.yml: mailboxes\[0\] "a": imap\.password cannot be resolved: cannot read \/nonexistent\/pw \(ENOENT\)/],
    ['unset-env.yml',
      'mailboxes: [{ name: w, provider: imap, imap: { host: h, user: u }, delivery: { kind: webhook, url: "https://example.com/h", secret: { env: MAILSLOT_TEST_UNSET } } }]\n',
      /unset-env\.yml: mailboxes\[0\] "w": delivery\.secret cannot be resolved: environment variable MAILSLOT_TEST_UNSET is not set/],
    ['unset-user.yml', 'mailboxes: [{ name: u, provider: imap, imap: { host: h, user: { env: MAILSLOT_TEST_UNSET }, password: { file: pw } } }]\n',
      /unset-user\.yml: mailboxes\[0\] "u": imap\.user cannot be resolved: environment variable MAILSLOT_TEST_UNSET is not set/],
    ['bad-ref.yml', 'mailboxes: [{ name: g, provider: graph, graph: { tenantId: t, clientId: c, user: u, clientSecret: { vault: x } } }]\n',
      /bad-ref\.yml: mailboxes\[0\] "g": graph\.clientSecret must be the value, \{file: PATH\} or \{env: NAME\}/],
    ['field.yml', 'mailboxes: [{ name: p, provider: imap, imap: { host: h, user: u, port: x } }]\n', /field\.yml: mailboxes\[0\] "p": imap\.port must be integer/],
    ['twice.yml', `mailboxes: [${JSON.stringify(unreachable('d'))}, ${JSON.stringify(unreachable('d'))}]\n`, /twice\.yml: mailboxes\[1\] "d": name is declared twice \(also mailboxes\[0\]\)/],
    ['project.yml', 'projects: [{ path: nogroup }]\n', /project\.yml: projects\[0\] "nogroup": path must match pattern/],
    ['oauth.yml', 'oauthApps: [{ name: m365 }]\n', /oauth\.yml: oauthApps\[0\] "m365": kind is required/],
    ['oauth-secret.yml', 'oauthApps: [{ name: g, kind: google, clientId: c, clientSecret: { env: MAILSLOT_TEST_UNSET } }]\n',
      /oauth-secret\.yml: oauthApps\[0\] "g": clientSecret cannot be resolved: environment variable MAILSLOT_TEST_UNSET is not set/],
    ['oauth-kind.yml', 'oauthApps: [{ name: g, kind: google, clientId: c, clientSecret: s, tenant: t }]\n',
      /oauth-kind\.yml: oauthApps\[0\] "g": tenant is for Microsoft apps only/],
    ['oauth-connect.yml', 'mailboxes: [{ name: c, provider: imap, imap: { host: h, user: u, auth: { oauthApp: g } } }]\n',
      /oauth-connect\.yml: mailboxes\[0\] "c": imap\.auth\.oauthApp is set when a customer connects the mailbox through a connect link/],
    ['section.yml', 'mailbox: []\n', /section\.yml: mailbox is not a known section/],
    ['list.yml', 'mailboxes: { name: a }\n', /list\.yml: mailboxes must be a list/],
    ['syntax.yml', 'mailboxes:\n  - name: a\n   provider: imap\n', /syntax\.yml is not valid YAML: .* at line \d+, column \d+/],
    ['syntax.json', '{"mailboxes": [}', /syntax\.json is not valid JSON: /],
    ['empty.yml', '# nothing\n', /empty\.yml is empty/]
  ]
  // the checks in-process (each CLI start costs seconds), the exit code through the CLI once
  for (const [name, text, expected] of cases) {
    const { errors } = await checkConfigFile(await write(name, text), false)
    t.equal(errors.length, 1, name)
    t.match(errors[0], expected, name)
  }
  // GitLab's encrypted credentials hold the user too: an imported mailbox may reference it
  const user = await write('user.yml', 'mailboxes: [{ name: u, provider: imap, imap: { host: h, user: { file: pw }, password: { file: pw } } }]\n')
  const resolved = await checkConfigFile(user, false)
  t.same(resolved.errors, [])
  t.equal(resolved.config.mailboxes[0].imap?.user, 'x', 'imap.user read from its reference')
  t.match((await checkConfigFile(path.join(dir, 'absent.yml'), false)).errors, [/absent\.yml cannot be read \(ENOENT\)/])
  const bad = await runCli(['config', 'check', path.join(dir, 'twice.yml')], {})
  t.equal(bad.code, 2)
  t.equal(bad.stdout, '')
  t.match(bad.stderr, /^mailslot: configuration error: .*twice\.yml: mailboxes\[1\] "d": name is declared twice/)
})

t.test('a bad file stops start-up with exit 2 in one line naming the file, the entry and the field', async t => {
  const dir = t.testdir()
  const file = path.join(dir, 'mailslot.yml')
  await writeFile(file, 'mailboxes:\n  - name: a\n    provider: imap\n    imap: { host: h, user: u, password: { env: MAILSLOT_TEST_UNSET } }\n  - { name: "bad name" }\n')
  const r = await runCli(['migrate'], { DATABASE_URL: await createTestDatabase(t), MAILSLOT_DATA_DIR: path.join(dir, 'data'), MAILSLOT_CONFIG: file })
  t.equal(r.code, 2)
  t.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
  t.match(r.stderr, /^mailslot: configuration error: MAILSLOT_CONFIG: .*mailslot\.yml: mailboxes\[0\] "a": imap\.password cannot be resolved: environment variable MAILSLOT_TEST_UNSET is not set \(and 1 more: see npx mailslot config check .*mailslot\.yml\)$/m)
})
