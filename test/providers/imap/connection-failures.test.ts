/** A server that never greets, and a folder that does not exist: the mailbox shows `failing` with the reason. */
import t, { type Test } from 'tap'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { makeEmail } from '../../helpers/emails.ts'
import { startDovecot } from '../../helpers/dovecot.ts'
import { startTestRuntime } from '../../helpers/runtime.ts'
import { waitFor } from '../../helpers/wait.ts'

const rt = await startTestRuntime(t)

async function failingHealth (name: string): Promise<{ lastError: string, lastSuccessAt: string | null, consecutiveFailures: number }> {
  return await waitFor(async () => {
    const h = (await rt.api('GET', `/api/v1/mailboxes/${name}`)).body.health
    return h.state === 'failing' ? h : undefined
  }, `${name} failing`, 20_000, 20)
}

/** Accepts TCP connections and never says a word. */
async function silentServer (t: Test): Promise<{ port: number, connections: () => number }> {
  let connections = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer(socket => { connections++; sockets.add(socket); socket.on('error', () => {}) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise(resolve => server.close(resolve))
  })
  return { port: (server.address() as AddressInfo).port, connections: () => connections }
}

t.test('a server that accepts but never greets: failing with a timeout within connectTimeoutSeconds', async t => {
  const silent = await silentServer(t)
  const spec = { name: 'silent', provider: 'imap', imap: { host: '127.0.0.1', port: silent.port, tls: 'none', user: 'x', password: 'y', connectTimeoutSeconds: 2 } }
  const started = Date.now()
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201)
  const health = await failingHealth('silent')
  const elapsed = (Date.now() - started) / 1000
  t.match(health.lastError, /timed out after 2 s/)
  t.ok(elapsed >= 1.9, `it waited for the greeting (${elapsed.toFixed(2)} s)`)
  t.ok(elapsed < 2 + 3, `and gave up after connectTimeoutSeconds (${elapsed.toFixed(2)} s)`)
  t.ok(silent.connections() >= 1, 'the connection was made')
  t.equal(health.lastSuccessAt, null)
})

t.test('an unknown folder: failing with a message naming the folder', async t => {
  const imap = await startDovecot()
  t.teardown(async () => await imap.stop())
  const u = imap.addUser()
  await imap.appendMany(u.user, 'INBOX', [makeEmail(1)])
  const spec = {
    name: 'no-folder',
    provider: 'imap',
    imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password, folder: 'Support/Missing', connectTimeoutSeconds: 5 }
  }
  await rt.api('POST', '/api/v1/mailboxes', spec)
  const health = await failingHealth('no-folder')
  t.match(health.lastError, 'Support/Missing')
  t.equal(health.consecutiveFailures, 1)
  const { rows } = await rt.ctx.pool.query(`SELECT count(*)::int AS n FROM inbound_emails`)
  t.equal(rows[0].n, 0, 'nothing ingested from another folder')
  t.equal((await imap.seen(u.user, 'INBOX')).length, 0, 'INBOX untouched')
})
