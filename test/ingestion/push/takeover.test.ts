/**
 * Two mailslot worker processes and two push mailboxes, each behind a proxy
 * counting its connections at the server's door: exactly one IDLE connection
 * per mailbox across the processes; the holder SIGKILLed, the other process
 * takes its mailboxes over (target: within 30 s), and new mail is handled
 * without waiting for the poll.
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { spawnWorker } from '../../helpers/cli.ts'
import { startDovecot } from '../../helpers/dovecot.ts'
import { makeEmail } from '../../helpers/emails.ts'
import { startTestRuntime } from '../../helpers/runtime.ts'
import { waitFor } from '../../helpers/wait.ts'
import { handled, leaseHolder, pushBox } from './push-fixture.ts'

t.setTimeout(400_000)

const pidOf = (holder: string | null): number | undefined => holder === null ? undefined : Number(holder.split(':').at(-2))

t.test('one IDLE connection per mailbox across two processes, taken over when its holder is killed', async t => {
  const imap = await startDovecot()
  t.teardown(async () => { await imap.stop() })
  const rt = await startTestRuntime(t, { role: 'web' })
  const workers = [0, 1].map(() => spawnWorker({ ...rt.env, MAILSLOT_DATA_DIR: t.testdir() }))
  t.teardown(async () => { for (const w of workers) { w.child.kill('SIGTERM'); await w.done } })
  const boxes = [await pushBox(t, imap), await pushBox(t, imap)]
  const ids: number[] = []
  for (const box of boxes) ids.push((await rt.api('POST', '/api/v1/mailboxes', box.spec)).body.id)

  await waitFor(async () => boxes.every(box => box.proxy.idling() === 1), 'both mailboxes idling', 180_000)
  for (let i = 0; i < 20; i++) {
    if (boxes.some(box => box.proxy.idling() !== 1)) t.fail(`sample ${i}: IDLE connections ${boxes.map(box => box.proxy.idling()).join(', ')}`)
    await sleep(250)
  }
  const holders = await Promise.all(ids.map(async id => await leaseHolder(rt, id)))
  const pids = workers.map(w => w.child.pid)
  t.ok(holders.every(h => pids.includes(pidOf(h))), 'each lease held by one of the two processes')
  t.pass('exactly one IDLE connection per mailbox over 5 s')

  const victim = workers.find(w => w.child.pid === pidOf(holders[0]))!
  const orphaned = ids.filter((_, i) => holders[i] === holders[0])
  const killedAt = Date.now()
  victim.child.kill('SIGKILL')
  await victim.done
  await waitFor(async () => {
    for (const id of orphaned) {
      const h = await leaseHolder(rt, id)
      if (h === null || pidOf(h) === victim.child.pid) return false
    }
    return boxes.every(box => box.proxy.idling() === 1)
  }, 'the other process holding and idling', 120_000)
  const took = Date.now() - killedAt
  t.comment(`takeover of ${orphaned.length} mailbox(es) after SIGKILL: ${took} ms`)
  t.ok(took < 60_000, `taken over in ${took} ms (target 30 s; generous here for a loaded machine)`)

  for (const [i, box] of boxes.entries()) {
    const appended = Date.now()
    await imap.append(box.user, 'INBOX', makeEmail(i))
    await waitFor(async () => (await handled(rt, box.spec.name)).n === 1, `mailbox ${i}'s email handled`, 120_000)
    const ms = (await handled(rt, box.spec.name)).lastAt - appended
    t.ok(ms < 20_000, `mailbox ${i}: new mail handled in ${ms} ms, the poll being an hour away`)
  }
})
