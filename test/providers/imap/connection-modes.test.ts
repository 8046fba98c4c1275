/**
 * The IMAP adapter's connection modes against a real Dovecot, through the
 * real runtime: a mailbox is added over the API and its health is read back.
 * Whether a session really ran over TLS is read from Dovecot's login log
 * ("TLS" for a TLS session, "secured" for plain text on localhost).
 */
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { makeEmail } from '../../helpers/emails.ts'
import { startDovecot, type Dovecot, type DovecotUser } from '../../helpers/dovecot.ts'
import { startTestRuntime } from '../../helpers/runtime.ts'
import { waitFor } from '../../helpers/wait.ts'
import { finishedCount } from '../../helpers/rows.ts'

const imap = await startDovecot({ ssl: true })
t.teardown(async () => await imap.stop())
const rt = await startTestRuntime(t)

function mailbox (u: DovecotUser, conn: Record<string, unknown>): Record<string, unknown> {
  return {
    name: `mb-${u.user.split('@')[0]}`,
    provider: 'imap',
    imap: { host: imap.host, user: u.user, password: u.password, connectTimeoutSeconds: 5, ...conn },
    address: 'incoming+%{key}@example.com',
    delivery: { kind: 'builtin' }
  }
}

async function health (name: string, state: string): Promise<{ state: string, lastError: string | null, lastSuccessAt: string | null }> {
  return await waitFor(async () => {
    const h = (await rt.api('GET', `/api/v1/mailboxes/${name}`)).body.health
    return h.state === state ? h : undefined
  }, `${name} ${state}`, 20_000)
}

/**
 * How the user's IMAP logins were protected, from Dovecot's log: 'TLS' or
 * 'secured' (plain text on localhost); one entry per login, deduplicated (the
 * minute's scheduled sync may log in again).
 */
function loginModes (server: Dovecot, user: string): string[] {
  const modes = readFileSync(server.logPath, 'utf8').split('\n')
    .filter(line => line.includes(`Login: user=<${user}>`))
    .map(line => /, (TLS|secured),/.exec(line)?.[1] ?? 'unknown')
  return [...new Set(modes)]
}

async function ingests (t: Test, u: DovecotUser, conn: Record<string, unknown>): Promise<string> {
  await imap.appendMany(u.user, 'INBOX', [makeEmail(1), makeEmail(2), makeEmail(3)])
  const spec = mailbox(u, conn)
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201)
  await waitFor(async () => (await finishedCount(rt, spec.name as string)) === 3, `3 emails of ${spec.name as string}`)
  await health(spec.name as string, 'ok')
  return spec.name as string
}

t.test('tls implicit: IMAPS with the server CA trusted', async t => {
  const u = imap.addUser()
  await ingests(t, u, { port: imap.tlsPort, tls: 'implicit', ca: imap.ca })
  t.same(loginModes(imap, u.user), ['TLS'], 'the session ran over TLS')
  const view = (await rt.api('GET', `/api/v1/mailboxes/mb-${u.user.split('@')[0]}`)).body
  t.equal(view.imap.ca, imap.ca, 'the CA is shown (it is no secret)')
})

t.test('tls implicit: an untrusted certificate is refused, unless verification is off', async t => {
  const strict = imap.addUser()
  const spec = mailbox(strict, { port: imap.tlsPort, tls: 'implicit' })
  await rt.api('POST', '/api/v1/mailboxes', spec)
  const h = await health(spec.name as string, 'failing')
  t.match(h.lastError, /certificate/i)
  t.same(loginModes(imap, strict.user), [], 'no login was attempted')

  const lax = imap.addUser()
  await ingests(t, lax, { port: imap.tlsPort, tls: 'implicit', rejectUnauthorized: false })
  t.same(loginModes(imap, lax.user), ['TLS'])
})

t.test('tls starttls: the plain port is upgraded before login', async t => {
  const u = imap.addUser()
  await ingests(t, u, { port: imap.port, tls: 'starttls', ca: imap.ca })
  t.same(loginModes(imap, u.user), ['TLS'])
})

t.test('tls starttls against a server without it: failing, the password never sent', async t => {
  const plain = await startDovecot()
  t.teardown(async () => await plain.stop())
  const u = plain.addUser()
  const spec: Record<string, unknown> = { ...mailbox(u, {}), imap: { host: plain.host, port: plain.port, tls: 'starttls', user: u.user, password: u.password, connectTimeoutSeconds: 5 } }
  await rt.api('POST', '/api/v1/mailboxes', spec)
  const h = await health(spec.name as string, 'failing')
  t.match(h.lastError, /STARTTLS/)
  t.same(loginModes(plain, u.user), [], 'no login over plain text')
})

t.test('tls none: plain text, no upgrade even when the server offers one', async t => {
  const u = imap.addUser()
  await ingests(t, u, { port: imap.port, tls: 'none' })
  t.same(loginModes(imap, u.user), ['secured'])
})
