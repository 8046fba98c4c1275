/**
 * `mailslot mailbox test` against a private Dovecot: what a poll would take,
 * with nothing changed; and each way a mailbox fails, told in plain words
 * (wrong password, Exchange's refusal of passwords, missing folder, refused
 * connection, unknown host, untrusted certificate, a server that never greets).
 */
import t from 'tap'
import net, { type AddressInfo } from 'node:net'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { saveCursor } from '../../src/mailboxes/sync-state.ts'
import type { MailboxSpec } from '../../src/mailboxes/types.ts'
import { testMailbox } from '../../src/cli/mailbox-test.ts'
import { startDovecot } from '../helpers/dovecot.ts'
import { startIntrospection } from '../helpers/dovecot-oauth.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startTestRuntime } from '../helpers/runtime.ts'
import { runCli } from '../helpers/cli.ts'

t.setTimeout(240_000)

// no workers: nothing but the doctor touches the mailboxes
const rt = await startTestRuntime(t, { role: 'web' })
const imap = await startDovecot()
t.teardown(async () => await imap.stop())
const user = imap.addUser()

let n = 0
async function mailbox (imapSettings: Partial<NonNullable<MailboxSpec['imap']>>, over: Partial<MailboxSpec> = {}): Promise<{ id: number, name: string }> {
  const name = `doctor-${++n}`
  const m = await createMailbox(rt.ctx, rt.ctx.pool, {
    name,
    provider: 'imap',
    imap: { host: imap.host, port: imap.port, tls: 'none', user: user.user, password: user.password, connectTimeoutSeconds: 5, ...imapSettings },
    address: 'incoming+%{key}@example.com',
    ...over
  })
  return { id: m.id, name }
}

const failedStep = (r: { steps: Array<{ step: string, ok: boolean }> }): string | undefined => r.steps.find(s => !s.ok)?.step

t.test('a working mailbox: what the next poll would take, and nothing changed', async t => {
  const at = (day: number): Date => new Date(Date.UTC(2026, 4, day, 9))
  await imap.append(user.user, 'INBOX', makeEmail(1), ['\\Seen'], at(1))
  await imap.append(user.user, 'INBOX', makeEmail(2), ['\\Seen'], at(2))
  await imap.append(user.user, 'INBOX', makeEmail(3, { size: 4000 }), [], at(3))
  await imap.append(user.user, 'INBOX', makeEmail(4, { size: 30_000 }), [], at(4))
  await imap.append(user.user, 'INBOX', makeEmail(5, { size: 6000 }), [], at(5))
  const m = await mailbox({}, { maxEmailBytes: 20_000 })
  const cursor = { uidValidity: String(await imap.uidValidity(user.user, 'INBOX')), lastUid: 2 }
  await saveCursor(rt.ctx.pool, m.id, cursor)
  const flagsBefore = await imap.flags(user.user, 'INBOX')
  const rowBefore = (await rt.ctx.pool.query('SELECT * FROM mailboxes WHERE id = $1', [m.id])).rows[0]

  const report = await testMailbox(rt.ctx, m.name)
  t.equal(report.ok, true, JSON.stringify(report.steps))
  t.same(report.steps.map(s => [s.step, s.ok]), [['connect', true], ['login', true], ['folder', true], ['list', true]], 'an IP address needs no DNS step')
  t.match(report.steps[2].detail, 'INBOX: 5 messages (opened read-only)')
  t.match(report.preview, {
    messages: 3, oldest: at(3).toISOString(), newest: at(5).toISOString(), overLimit: 1, limitBytes: 20_000, sizes: 'exact'
  }, 'the three unread ones, one of them over the limit')
  t.ok(report.preview!.largestBytes! >= 30_000 && report.preview!.totalBytes! >= 40_000, 'exact sizes')

  t.same(await imap.flags(user.user, 'INBOX'), flagsBefore, 'no flag set or cleared')
  t.same((await rt.ctx.pool.query('SELECT * FROM mailboxes WHERE id = $1', [m.id])).rows[0], rowBefore, 'cursor, health and settings as they were')
  t.equal((await rt.ctx.pool.query('SELECT count(*)::int AS n FROM inbound_emails')).rows[0].n, 0, 'nothing stored')
  t.equal((await rt.ctx.pool.query(`SELECT count(*)::int AS n FROM mailslot_boss.job WHERE name LIKE 'mailbox-%'`)).rows[0].n, 0, 'no sync queued')

  const cli = await runCli(['mailbox', 'test', m.name], { ...rt.env, MAILSLOT_DATA_DIR: t.testdir() })
  t.equal(cli.code, 0, cli.stderr)
  t.match(cli.stdout, /ok {4}login {4}u/)
  t.match(cli.stdout, /a poll would take 3 messages, received 2026-05-03T09:00:00.000Z to 2026-05-05T09:00:00.000Z; .* 1 over the 19.5 KB limit/)
  t.match(cli.stdout, 'The mailbox would work. Nothing was changed')
  const json = await runCli(['mailbox', 'test', m.name, '--json'], { ...rt.env, MAILSLOT_DATA_DIR: t.testdir() })
  t.equal(JSON.parse(json.stdout).preview.messages, 3)
})

t.test('a wrong password: the login step fails with the server\'s words; exit 1', async t => {
  const m = await mailbox({ password: 'not-the-password' })
  const report = await testMailbox(rt.ctx, m.name)
  t.equal(failedStep(report), 'login')
  const login = report.steps.find(s => s.step === 'login')!
  t.equal(login.detail, 'the server said "Authentication failed." [AUTHENTICATIONFAILED]')
  t.match(login.explanation, `the server refused ${user.user} with this password`)
  const tokenless = await testMailbox(rt.ctx, (await mailbox({ password: undefined, auth: { accessToken: 'a-token' } })).name)
  t.equal(failedStep(tokenless), 'login')
  t.match(tokenless.steps[1].explanation, 'the server takes no access tokens')
  const cli = await runCli(['mailbox', 'test', m.name], { ...rt.env, MAILSLOT_DATA_DIR: t.testdir() })
  t.equal(cli.code, 1)
  t.match(cli.stdout, /FAIL {2}login {3} the server said "Authentication failed."/)
  t.match(cli.stdout, 'The mailbox would not work (login failed)')
  t.notMatch(cli.stdout + cli.stderr, 'not-the-password', 'the password is not shown')
})

t.test('a folder that does not exist: named, with the folders there are', async t => {
  const m = await mailbox({ folder: 'Support/Missing' })
  const report = await testMailbox(rt.ctx, m.name)
  t.equal(failedStep(report), 'folder')
  const folder = report.steps.find(s => s.step === 'folder')!
  t.match(folder.detail, 'Mailbox doesn\'t exist: Support/Missing')
  t.match(folder.explanation, /there is no folder "Support\/Missing" for this user: .*; this user has: INBOX/)
})

t.test('nothing listening: connection refused', async t => {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  const report = await testMailbox(rt.ctx, (await mailbox({ port })).name)
  t.equal(failedStep(report), 'connect')
  t.match(report.steps[0].detail, 'ECONNREFUSED')
  t.match(report.steps[0].explanation, `nothing accepts connections at 127.0.0.1:${port}`)
})

t.test('a host name that does not resolve: the DNS step fails', async t => {
  const report = await testMailbox(rt.ctx, (await mailbox({ host: 'imap.no-such-host.invalid' })).name)
  t.same(report.steps.map(s => s.step), ['dns'])
  t.match(report.steps[0].explanation, 'does not resolve')
})

t.test('a server that never greets: a timeout, in plain words', async t => {
  const sockets: net.Socket[] = []
  const silent = net.createServer(s => { sockets.push(s); s.on('error', () => {}) })
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { for (const s of sockets) s.destroy(); await new Promise(resolve => silent.close(resolve)) })
  const report = await testMailbox(rt.ctx, (await mailbox({ port: (silent.address() as AddressInfo).port, connectTimeoutSeconds: 1 })).name)
  t.equal(failedStep(report), 'connect')
  t.match(report.steps[0].explanation, 'in time')
})

t.test('Exchange (by its greeting) refuses passwords; a self-signed certificate is named', async t => {
  const introspection = await startIntrospection()
  t.teardown(async () => await introspection.close())
  const exchange = await startDovecot({
    ssl: true, oauth2IntrospectionUrl: introspection.url, extraConfig: 'login_greeting = The Microsoft Exchange IMAP4 service is ready.'
  })
  t.teardown(async () => await exchange.stop())
  const u = exchange.addUser()
  const over = { host: exchange.host, port: exchange.tlsPort, tls: 'implicit' as const, user: u.user }

  const untrusted = await testMailbox(rt.ctx, (await mailbox(over)).name)
  t.equal(failedStep(untrusted), 'connect')
  t.match(untrusted.steps[0].explanation, /self-signed.*imap\.ca/)

  const refused = await testMailbox(rt.ctx, (await mailbox({ ...over, ca: exchange.ca, password: 'wrong' })).name)
  t.equal(failedStep(refused), 'login')
  t.match(refused.steps[0].detail, 'greeting "The Microsoft Exchange IMAP4 service is ready."')
  t.match(refused.steps[1].explanation, /Exchange Online refuses passwords over IMAP: .*basic authentication .* tenant-wide/)
  t.match(refused.steps[1].explanation, 'Graph mailbox')

  const token = await testMailbox(rt.ctx, (await mailbox({ ...over, ca: exchange.ca, password: undefined, auth: { accessToken: 'not-a-token' } })).name)
  t.equal(failedStep(token), 'login')
  t.match(token.steps[1].explanation, /IMAP\.AccessAsUser\.All.*IMAP\.AccessAsApp.*Set-CASMailbox -ImapEnabled/)

  const good = await testMailbox(rt.ctx, (await mailbox({ ...over, ca: exchange.ca, password: u.password })).name)
  t.equal(good.ok, true, 'trusted through imap.ca, the right password works')
})

t.test('usage and unknown mailboxes', async t => {
  const env = { ...rt.env, MAILSLOT_DATA_DIR: t.testdir() }
  t.equal((await runCli(['mailbox', 'test'], env)).code, 2)
  const unknown = await runCli(['mailbox', 'test', 'no-such-mailbox'], env)
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, 'no mailbox named "no-such-mailbox"')
})
