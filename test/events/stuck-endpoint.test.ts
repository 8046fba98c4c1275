/**
 * An events endpoint that takes every request and never answers: the event
 * workers hang on it (until the 30 s delivery timeout), and meanwhile mail
 * keeps coming in and is handled as fast as without events.
 */
import net from 'node:net'
import t from 'tap'
import { startDovecot } from '../helpers/dovecot.ts'
import { startTestRuntime } from '../helpers/runtime.ts'
import { waitFor } from '../helpers/wait.ts'
import { makeEmail } from '../helpers/emails.ts'
import { finishedCount } from '../helpers/rows.ts'
import { queuedEvents } from './fixture.ts'

t.setTimeout(180_000)

/** How long the emails of one round may take from the poll to their end state; they take well under a second here. */
const ON_TIME_MS = 5000

t.test('a stuck events endpoint delays no sync and no email', async t => {
  const held = new Set<net.Socket>()
  const stuck = net.createServer(socket => { held.add(socket); socket.on('close', () => held.delete(socket)); socket.resume() })
  await new Promise<void>(resolve => stuck.listen(0, '127.0.0.1', resolve))
  const release = async (): Promise<void> => {
    for (const s of held) s.destroy()
    await new Promise(resolve => stuck.close(resolve))
  }
  t.teardown(release)
  const { port } = stuck.address() as net.AddressInfo
  const imap = await startDovecot()
  t.teardown(async () => await imap.stop())
  const rt = await startTestRuntime(t, {
    env: { MAILSLOT_EVENTS_URL: `http://127.0.0.1:${port}/events`, MAILSLOT_EVENTS_SECRET: `whsec_${Buffer.alloc(24, 1).toString('base64')}`, MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'true' }
  })
  const create = async (name: string): Promise<string> => {
    const u = imap.addUser()
    const res = await rt.api('POST', '/api/v1/mailboxes', {
      name, provider: 'imap', imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password }, address: 'incoming+%{key}@example.com'
    })
    t.equal(res.status, 201)
    return u.user
  }
  // six new mailboxes, twelve changes: more events than the workers that hang on them
  const user = await create('busy')
  for (let i = 1; i < 6; i++) await create(`quiet-${i}`)
  await waitFor(async () => held.size >= 4, 'event workers hanging on the endpoint')
  await waitFor(async () => await queuedEvents(rt) === 12, 'twelve events queued')

  await waitFor(async () => (await rt.api('GET', '/api/v1/mailboxes')).body.items.every((m: any) => m.health.state === 'ok'), 'every first sync done')

  // round 0 warms up: a process's first emails take seconds more (the parser loads), events or not
  let sent = 0
  for (let round = 0; round <= 3; round++) {
    for (let i = 0; i < 10; i++) await imap.append(user, 'INBOX', makeEmail(sent++))
    const started = Date.now()
    t.equal((await rt.api('POST', '/api/v1/mailboxes/busy/poll')).status, 202)
    await waitFor(async () => await finishedCount(rt, 'busy') === sent, `round ${round} handled`, 20_000)
    const took = Date.now() - started
    if (round > 0) t.ok(took < ON_TIME_MS, `round ${round}: 10 emails handled in ${took} ms while events hang`)
  }
  t.ok(held.size >= 4, `the endpoint still holds ${held.size} requests unanswered`)
  await release()
})
