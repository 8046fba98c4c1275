import t from 'tap'
import fs from 'node:fs'
import net from 'node:net'
import { ImapFlow } from 'imapflow'
import { startDovecot, type Dovecot } from './dovecot.ts'
import { startIntrospection } from './dovecot-oauth.ts'

/** A CRLF message (IMAP serves CRLF, so only CRLF input round-trips byte for byte). */
function message (i: number, bodyBytes = 200): string {
  const head = [
    `From: Sender ${i} <sender${i}@example.org>`,
    'To: inbox@example.com',
    `Subject: Message ${i} – ünïcode`,
    `Message-ID: <m${i}.${Date.now()}@example.org>`,
    'Date: Mon, 01 Jan 2024 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ].join('\r\n')
  const line = `Line of message ${i} with 8-bit text: grüße. `
  let body = ''
  while (Buffer.byteLength(body) < bodyBytes) body += line + '\r\n'
  return `${head}\r\n\r\n${body}`
}

async function login (imap: Dovecot, user: string, pass: string): Promise<ImapFlow> {
  const c = new ImapFlow(imap.clientOptions({ user, pass }))
  await c.connect()
  return c
}

interface Scope {
  comment(...args: unknown[]): void;
  teardown(fn: () => unknown): void;
}

async function startTimed (t: Scope, options?: Parameters<typeof startDovecot>[0]): Promise<Dovecot> {
  const started = performance.now()
  const imap = await startDovecot(options)
  t.comment(`startDovecot(${JSON.stringify(options ?? {})}): ${Math.round(performance.now() - started)} ms`)
  t.teardown(() => imap.stop())
  return imap
}

t.test('plain instance', async (t) => {
  const imap = await startTimed(t)
  t.equal(imap.host, '127.0.0.1')
  t.ok(imap.port > 0)
  t.equal(imap.tlsPort, undefined)

  const alice = imap.addUser()
  t.match(alice.user, /^u[0-9a-f]+@example\.com$/)

  await t.test('password login, append and read back identical bytes', async (t) => {
    const raw = Buffer.from(message(1))
    const { uid, uidValidity } = await imap.append(alice.user, 'INBOX', raw, ['\\Seen'])
    t.equal(uid, 1)
    t.type(uidValidity, 'bigint')

    const c = await login(imap, alice.user, alice.password)
    t.teardown(() => c.logout())
    const lock = await c.getMailboxLock('INBOX')
    try {
      t.equal(c.mailbox && c.mailbox.uidValidity, uidValidity)
      const msg = await c.fetchOne(String(uid), { source: true, flags: true }, { uid: true })
      if (!msg) throw new Error('message not found')
      t.ok(msg.source?.equals(raw), 'bytes identical')
      t.same([...(msg.flags ?? [])].filter((f) => f !== '\\Recent'), ['\\Seen'])
    } finally {
      lock.release()
    }
  })

  await t.test('flags and count', async (t) => {
    await imap.append(alice.user, 'INBOX', message(2), ['\\Flagged', 'custom-kw'])
    await imap.append(alice.user, 'INBOX', message(3))
    t.equal(await imap.count(alice.user, 'INBOX'), 3)
    t.same(await imap.flags(alice.user, 'INBOX'), new Map([
      [1, ['\\Seen']],
      [2, ['\\Flagged', 'custom-kw']],
      [3, []],
    ]))

    const c = await imap.client(alice.user)
    await c.mailboxOpen('INBOX')
    await c.messageFlagsAdd('3', ['\\Seen', '\\Answered'], { uid: true })
    await c.logout()
    t.same((await imap.flags(alice.user, 'INBOX')).get(3)?.sort(), ['\\Answered', '\\Seen'])
  })

  await t.test('append creates a missing folder', async (t) => {
    const { uid } = await imap.append(alice.user, 'Projects/Inbound', message(4))
    t.equal(uid, 1)
    t.equal(await imap.count(alice.user, 'Projects/Inbound'), 1)
  })

  await t.test('deleting and recreating a folder gives a new UIDVALIDITY', async (t) => {
    t.equal(await imap.createFolder(alice.user, 'Work'), true)
    t.equal(await imap.createFolder(alice.user, 'Work'), false, 'idempotent')
    const first = await imap.append(alice.user, 'Work', message(5))
    t.equal(await imap.uidValidity(alice.user, 'Work'), first.uidValidity)

    t.equal(await imap.deleteFolder(alice.user, 'Work'), true, 'deleted with its message')
    t.equal(await imap.deleteFolder(alice.user, 'Work'), false, 'idempotent')
    await imap.createFolder(alice.user, 'Work')
    const c = await imap.client(alice.user)
    const box = await c.mailboxOpen('Work')
    t.not(box.uidValidity, first.uidValidity)
    t.equal(box.exists, 0)
    await c.logout()
    const second = await imap.append(alice.user, 'Work', message(6))
    t.equal(second.uidValidity, box.uidValidity)
    t.equal(second.uid, 1)
  })

  await t.test('a wrong password fails with authenticationFailed', async (t) => {
    const err = await login(imap, alice.user, 'wrong').then(
      () => undefined,
      (e: unknown) => e as { authenticationFailed?: boolean; serverResponseCode?: string }
    )
    t.equal(err?.authenticationFailed, true)
    t.equal(err?.serverResponseCode, 'AUTHENTICATIONFAILED')
    // no auth penalty: the next good login is immediate
    const started = performance.now()
    const c = await login(imap, alice.user, alice.password)
    await c.logout()
    t.ok(performance.now() - started < 1000, 'no penalty delay after a failure')
  })

  await t.test('users added back to back can log in at once', async (t) => {
    for (let i = 0; i < 3; i++) {
      const u = imap.addUser(`batch${i}@example.com`, `pw-${i}`)
      const c = await login(imap, u.user, u.password)
      await c.logout()
    }
    await imap.setPassword('batch0@example.com', 'changed')
    const err = await login(imap, 'batch0@example.com', 'pw-0').then(() => undefined, (e: { authenticationFailed?: boolean }) => e)
    t.equal(err?.authenticationFailed, true, 'old password refused')
    const c = await login(imap, 'batch0@example.com', 'changed')
    await c.logout()
  })

  await t.test('appendMany of 2,000 × 7 KB messages', async (t) => {
    const raws = Array.from({ length: 2000 }, (_, i) => Buffer.from(message(i, 7000)))
    t.ok(raws.every((r) => r.length >= 7000 && r.length < 7500))
    const started = performance.now()
    const count = await imap.appendMany(alice.user, 'Bulk', raws)
    const ms = performance.now() - started
    t.comment(`appendMany 2,000 × 7 KB: ${Math.round(ms)} ms (${Math.round(2000 / (ms / 1000))} msgs/s)`)
    t.equal(count, 2000)

    const c = await imap.client(alice.user)
    t.teardown(() => c.logout())
    const box = await c.mailboxOpen('Bulk')
    t.equal(box.exists, 2000)
    const msgs = await c.fetchAll('1:*', { uid: true, source: true }, { uid: true })
    t.equal(msgs.length, 2000)
    t.ok(msgs.every((m, i) => m.uid === i + 1), 'UIDs follow the array order')
    t.ok(msgs.every((m, i) => m.source?.equals(raws[i])), 'bytes identical')

    // system flags go into the Maildir file name; more land after the first batch
    await imap.appendMany(alice.user, 'Bulk', [message(9001), message(9002)], ['\\Seen', '\\Flagged'])
    const flags = await imap.flags(alice.user, 'Bulk')
    t.equal(flags.size, 2002)
    t.same(flags.get(2001), ['\\Flagged', '\\Seen'])
    t.same(flags.get(1), [])
    // keywords fall back to IMAP APPEND
    t.equal(await imap.appendMany(alice.user, 'INBOX', [message(9003)], ['\\Seen', 'kw1']), 4)
  })
})

t.test('two instances in parallel do not interfere', async (t) => {
  const [a, b] = await Promise.all([startTimed(t), startTimed(t)])
  t.not(a.port, b.port)
  t.not(a.dir, b.dir)
  const user = 'same@example.com'
  a.addUser(user, 'password-a')
  b.addUser(user, 'password-b')
  await Promise.all([a.append(user, 'INBOX', message(1)), b.appendMany(user, 'INBOX', [message(2), message(3)])])
  t.equal(await a.count(user, 'INBOX'), 1)
  t.equal(await b.count(user, 'INBOX'), 2)
  const err = await login(a, user, 'password-b').then(() => undefined, (e: { authenticationFailed?: boolean }) => e)
  t.equal(err?.authenticationFailed, true, "b's password does not open a")
  const c = await login(b, user, 'password-b')
  await c.logout()
})

t.test('OAuth (XOAUTH2/OAUTHBEARER) and TLS', async (t) => {
  const tokens = new Map([['good-token', 'oauth@example.com']])
  const introspection = await startIntrospection(tokens)
  t.teardown(() => introspection.close())
  const imap = await startTimed(t, { oauth2IntrospectionUrl: introspection.url, ssl: true })
  t.ok(imap.tlsPort)
  t.match(imap.ca, /BEGIN CERTIFICATE/)

  await t.test('a good token logs in, a bad one fails', async (t) => {
    await imap.append('oauth@example.com', 'INBOX', message(1))
    const c = new ImapFlow(imap.clientOptions({ user: 'oauth@example.com', accessToken: 'good-token' }))
    await c.connect()
    const box = await c.mailboxOpen('INBOX')
    t.equal(box.exists, 1)
    await c.logout()
    t.ok(introspection.requests >= 1)

    for (const [user, token] of [['oauth@example.com', 'bad-token'], ['other@example.com', 'good-token']]) {
      const bad = new ImapFlow(imap.clientOptions({ user, accessToken: token }))
      const err = await bad.connect().then(() => undefined, (e: { authenticationFailed?: boolean }) => e)
      t.equal(err?.authenticationFailed, true, `${user} with ${token} refused`)
    }
    // password logins still work next to OAuth
    const u = imap.addUser()
    const p = await login(imap, u.user, u.password)
    await p.logout()
  })

  await t.test('IMAPS with the CA, STARTTLS on the plain port', async (t) => {
    const u = imap.addUser()
    const s = new ImapFlow(imap.clientOptions({ user: u.user, pass: u.password }, { secure: true }))
    await s.connect()
    t.equal(s.secureConnection, true)
    await s.logout()

    const plain = await login(imap, u.user, u.password)
    t.equal(plain.secureConnection, true, 'upgraded with STARTTLS')
    await plain.logout()

    const untrusted = new ImapFlow({ ...imap.clientOptions({ user: u.user, pass: u.password }, { secure: true }), tls: {} })
    const err = await untrusted.connect().then(() => undefined, (e: Error) => e)
    t.ok(err, 'refused without the CA')
  })
})

t.test('stop ends every process of the instance and removes its folder', async (t) => {
  const imap = await startTimed(t, { highPerformance: true })
  const u = imap.addUser()
  const c = await login(imap, u.user, u.password)
  await c.mailboxOpen('INBOX')
  const children = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((n) => {
    try {
      const stat = fs.readFileSync(`/proc/${n}/stat`, 'utf8')
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === imap.pid
    } catch {
      return false
    }
  }).map(Number)
  t.ok(children.length >= 4, `${children.length} child processes before stop`)

  const started = performance.now()
  await imap.stop() // also closes the open session
  t.comment(`stop: ${Math.round(performance.now() - started)} ms`)
  await c.close()

  const running = [imap.pid, ...children].filter((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
      return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))
    } catch {
      return false
    }
  })
  t.same(running, [], 'no process of this instance left')
  t.equal(fs.existsSync(imap.dir), false, 'folder removed')
  const refused = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host: imap.host, port: imap.port })
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(true))
  })
  t.equal(refused, true, 'port closed')
  await imap.stop() // idempotent
})

t.test('halt and resume: an outage on the same port, mail and flags kept', async (t) => {
  const imap = await startTimed(t)
  t.teardown(() => imap.stop())
  const u = imap.addUser()
  const first = await imap.append(u.user, 'INBOX', message(1), ['\\Seen'])
  const session = await login(imap, u.user, u.password)
  session.on('error', () => { /* cut by the outage */ })
  await session.mailboxOpen('INBOX')
  const before = imap.pid

  await imap.halt()
  const refused = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host: imap.host, port: imap.port })
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(true))
  })
  t.equal(refused, true, 'port closed while halted')
  await session.close()

  await imap.resume()
  t.not(imap.pid, before, 'a new master process')
  const second = await imap.append(u.user, 'INBOX', message(2))
  t.equal(second.uidValidity, first.uidValidity, 'same mailbox')
  t.same(await imap.seen(u.user, 'INBOX'), [first.uid], 'flags kept')
  t.equal(await imap.count(u.user, 'INBOX'), 2)
  await imap.stop()
  t.equal(fs.existsSync(imap.dir), false, 'folder removed')
})
