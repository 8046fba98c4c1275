/**
 * imap.push in one runtime against a real Dovecot, each mailbox behind a
 * proxy that counts its connections and IDLE commands: new mail handled
 * without waiting for the poll (an hour away), IDLE issued again, a burst
 * of mail, a server restart, push turned off and on, a mailbox deleted.
 */
import t from 'tap'
import { startDovecot } from '../../helpers/dovecot.ts'
import { makeEmail } from '../../helpers/emails.ts'
import { startTestRuntime } from '../../helpers/runtime.ts'
import { waitFor } from '../../helpers/wait.ts'
import { upsertMailbox } from '../../../src/mailboxes/repository.ts'
import { handled, leaseHolder, pushBox, pushSyncs, syncsPending, type PushBox } from './push-fixture.ts'

t.setTimeout(400_000)
const RE_IDLE_MS = 1500
/** Generous for a loaded machine; the next poll is an hour away. */
const PROMPTLY_MS = 20_000

const imap = await startDovecot()
t.teardown(async () => { await imap.stop() })
const rt = await startTestRuntime(t, { workers: { push: { reIdleMs: RE_IDLE_MS } } })

/** A push mailbox created through the API, idling, its first syncs done. */
async function added (over: Record<string, unknown> = {}): Promise<PushBox & { id: number }> {
  const box = await pushBox(t, imap)
  Object.assign(box.spec, over)
  const res = await rt.api('POST', '/api/v1/mailboxes', box.spec)
  if (res.status !== 201) throw new Error(`mailbox not created: ${res.text}`)
  await waitFor(async () => box.proxy.idling() === 1, 'the IDLE connection', 60_000)
  await waitFor(async () => (await rt.api('GET', `/api/v1/mailboxes/${box.spec.name as string}`)).body.health.state === 'ok', 'the first sync', 60_000)
  await waitFor(async () => (await syncsPending(rt, res.body.id)) === 0, 'no sync left waiting', 60_000)
  return { ...box, id: res.body.id }
}

/** Appends one email and resolves to the ms until it was handled. */
async function appendAndTime (box: PushBox, i: number): Promise<number> {
  const before = (await handled(rt, box.spec.name)).n
  const appended = Date.now()
  await imap.append(box.user, 'INBOX', makeEmail(i))
  await waitFor(async () => (await handled(rt, box.spec.name)).n === before + 1, `email ${i} handled`, 120_000)
  return (await handled(rt, box.spec.name)).lastAt - appended
}

const box = await added()

t.test('imap.push is a boolean of the mailbox JSON, shown back', async t => {
  t.equal((await rt.api('GET', `/api/v1/mailboxes/${box.spec.name as string}`)).body.imap.push, true)
  const bad = await rt.api('POST', '/api/v1/mailboxes', { ...box.spec, name: 'push-bad', imap: { ...box.spec.imap, push: 'yes' } })
  t.equal(bad.status, 400)
  t.equal(bad.body.error.code, 'invalid_imap.push')
})

t.test('new mail is handled at once, without waiting for the poll', async t => {
  t.equal(await leaseHolder(rt, box.id) !== null, true, 'the lease is held')
  const pushedBefore = await pushSyncs(rt, box.id)
  const took = await appendAndTime(box, 1)
  t.comment(`APPEND → handled in ${took} ms`)
  t.ok(took < PROMPTLY_MS, `handled in ${took} ms, the poll being an hour away`)
  t.ok(await pushSyncs(rt, box.id) > pushedBefore, 'by a sync that push queued')
  t.equal(box.proxy.idling(), 1, 'one IDLE connection')
  const metrics = await rt.api('GET', '/metrics')
  t.match(metrics.text, /^mailslot_imap_idle_connections 1$/m, 'the gauge counts it')
})

t.test('IDLE is issued again on the same connection', async t => {
  const accepted = box.proxy.accepted()
  const idles = box.proxy.idleCommands()
  await waitFor(async () => box.proxy.idleCommands() >= idles + 3, 'three more IDLE commands', 60_000)
  t.equal(box.proxy.accepted(), accepted, 'no new connection')
  t.equal(box.proxy.open(), 1, 'one connection open')
})

t.test('a burst of new mail queues a few syncs, not one per message', async t => {
  const pushedBefore = await pushSyncs(rt, box.id)
  const before = (await handled(rt, box.spec.name)).n
  await imap.appendMany(box.user, 'INBOX', Array.from({ length: 30 }, (_, i) => makeEmail(100 + i)))
  await waitFor(async () => (await handled(rt, box.spec.name)).n === before + 30, '30 emails handled', 120_000)
  const queued = await pushSyncs(rt, box.id) - pushedBefore
  t.comment(`30 emails delivered at once: ${queued} syncs queued by push`)
  t.ok(queued >= 1 && queued <= 10, `${queued} syncs queued`)
})

t.test('the IDLE connection is made again after the server restarts', async t => {
  await imap.halt()
  await waitFor(async () => box.proxy.open() === 0, 'the connection cut', 30_000)
  await imap.resume()
  await waitFor(async () => box.proxy.idling() === 1, 'IDLE again', 120_000)
  const took = await appendAndTime(box, 2)
  t.ok(took < PROMPTLY_MS, `new mail handled in ${took} ms after the restart`)
})

t.test('push turned off closes the IDLE connection; turned on, it opens again', async t => {
  await upsertMailbox(rt.ctx, rt.ctx.pool, { ...box.spec, imap: { ...box.spec.imap, push: false } } as any)
  await waitFor(async () => box.proxy.open() === 0, 'the connection closed', 60_000)
  t.equal(await leaseHolder(rt, box.id), null, 'the lease is let go')
  await upsertMailbox(rt.ctx, rt.ctx.pool, box.spec as any)
  await waitFor(async () => box.proxy.idling() === 1, 'IDLE again', 60_000)
  t.pass('idling again')
})

t.test('mail expunged after delivery, new mail is still announced; a deleted mailbox has its IDLE connection closed', async t => {
  const other = await added({ afterDelivery: 'delete' })
  for (const i of [3, 4]) {
    const took = await appendAndTime(other, i)
    t.ok(took < PROMPTLY_MS, `email ${i} handled in ${took} ms`)
    await waitFor(async () => (await imap.count(other.user, 'INBOX')) === 0, 'the email expunged', 30_000)
  }
  t.equal((await rt.api('DELETE', `/api/v1/mailboxes/${other.spec.name as string}`)).status, 204)
  await waitFor(async () => other.proxy.open() === 0, 'the connection closed', 60_000)
  t.equal(await leaseHolder(rt, other.id), null, 'no lease left')
  t.equal(box.proxy.idling(), 1, 'the other mailbox idles on')
})
