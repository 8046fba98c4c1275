/**
 * Two runtimes on one database share the push mailboxes within their caps:
 * A may hold one connection per IMAP server (MAILSLOT_IMAP_PUSH_MAX_PER_HOST=1),
 * B one in all (MAILSLOT_IMAP_PUSH_MAX=1). Of three mailboxes, two on one
 * server name and one on another, each is held exactly once: the pair is
 * split between A and B, and A holds the third.
 */
import t from 'tap'
import { startDovecot } from '../../helpers/dovecot.ts'
import { startTestRuntime } from '../../helpers/runtime.ts'
import { waitFor } from '../../helpers/wait.ts'
import { leaseHolder, pushBox } from './push-fixture.ts'

t.setTimeout(300_000)

t.test('a process at a cap leaves the rest to the others', async t => {
  const imap = await startDovecot()
  t.teardown(async () => { await imap.stop() })
  const a = await startTestRuntime(t, { env: { MAILSLOT_IMAP_PUSH_MAX_PER_HOST: '1' } })
  const b = await startTestRuntime(t, { databaseUrl: a.databaseUrl, env: { ...a.env, MAILSLOT_IMAP_PUSH_MAX: '1' } })
  const boxes = [await pushBox(t, imap), await pushBox(t, imap), await pushBox(t, imap, { host: 'localhost' })]
  const ids: number[] = []
  for (const box of boxes) ids.push((await a.api('POST', '/api/v1/mailboxes', box.spec)).body.id)

  await waitFor(async () => boxes.every(box => box.proxy.idling() === 1), 'every mailbox idling', 120_000)
  const gauge = async (rt: typeof a): Promise<number> => (await rt.ctx.metrics.imapIdleConnections.get()).values[0].value
  t.equal(await gauge(a), 2, 'A holds two, one per server name')
  t.equal(await gauge(b), 1, 'B holds one')
  const holders = await Promise.all(ids.map(async id => await leaseHolder(a, id)))
  t.not(holders[0], holders[1], 'the two mailboxes of one server are held by different processes')
  t.ok(holders[2] === holders[0] || holders[2] === holders[1], 'the third by the one of them holding two, A')
  // the syncs queued when each was created and when its IDLE connection opened end
  await waitFor(async () => boxes.every(box => box.proxy.open() === 1), 'one connection each, once the syncs are done', 60_000)
  t.same(boxes.map(box => box.proxy.idling()), [1, 1, 1], 'each idling once')
})
