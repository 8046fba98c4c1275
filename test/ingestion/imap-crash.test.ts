import t from 'tap'
import { makeEmail } from '../helpers/emails.ts'
import { spawnWorker } from '../helpers/cli.ts'
import { waitFor } from '../helpers/wait.ts'
import { imapFixture, imapMailbox } from './imap-fixture.ts'
import { countRows, finishedCount } from '../helpers/rows.ts'

const seenCount = async (imap: { seen: (u: string, f: string) => Promise<number[]> }, user: string): Promise<number> =>
  (await imap.seen(user, 'INBOX')).length

for (const point of ['fetch.before-commit', 'fetch.after-commit'] as const) {
  t.test(`a worker killed at ${point} loses nothing and doubles nothing`, async t => {
    // the web role only: the worker that crashes is a separate process
    const { imap, rt } = await imapFixture(t, { role: 'web' })
    const u = imap.addUser()
    await imap.appendMany(u.user, 'INBOX', Array.from({ length: 20 }, (_, i) => makeEmail(i)))
    const spec = imapMailbox(imap, u)
    t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201) // queues a sync

    const crashing = spawnWorker({ ...rt.env, MAILSLOT_DATA_DIR: t.testdir(), MAILSLOT_FAULT: `${point}:crash` })
    const died = await crashing.done
    t.equal(died.signal, 'SIGKILL', 'the worker died at the fault point')
    const storedAtCrash = await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails')
    t.equal(storedAtCrash, point === 'fetch.before-commit' ? 0 : 20, 'the transaction committed all or nothing')
    t.equal(await seenCount(imap, u.user), 0, 'nothing was marked read before it was committed')

    const healthy = spawnWorker({ ...rt.env, MAILSLOT_DATA_DIR: t.testdir() })
    t.teardown(async () => { healthy.child.kill('SIGTERM'); await healthy.done })
    t.equal((await rt.api('POST', `/api/v1/mailboxes/${spec.name as string}/poll`)).status, 202)
    await waitFor(async () => (await finishedCount(rt, spec.name as string)) === 20 && (await seenCount(imap, u.user)) === 20, 'all handled and seen (a dead worker job is noticed by its missing heartbeat)', 60_000)
    t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 20, 'no doubles')
    t.equal(await countRows(rt, `SELECT count(*)::int AS n FROM inbound_emails WHERE status IN ('delivered', 'rejected') AND parsed IS NOT NULL AND attempts = 1`), 20, 'each handled once')
  })
}

t.test('two worker processes polling one mailbox at once store each message once', async t => {
  const { imap, rt } = await imapFixture(t, { role: 'web' })
  const u = imap.addUser()
  await imap.appendMany(u.user, 'INBOX', Array.from({ length: 150 }, (_, i) => makeEmail(i)))
  const spec = imapMailbox(imap, u)
  const workers = [0, 1].map(() => spawnWorker({ ...rt.env, MAILSLOT_DATA_DIR: t.testdir() }))
  t.teardown(async () => { for (const w of workers) { w.child.kill('SIGTERM'); await w.done } })
  await rt.api('POST', '/api/v1/mailboxes', spec)
  for (let i = 0; i < 5; i++) await rt.api('POST', `/api/v1/mailboxes/${spec.name as string}/poll`)
  await waitFor(async () => (await finishedCount(rt, spec.name as string)) === 150 && (await seenCount(imap, u.user)) === 150, '150 handled', 45_000)
  await new Promise(resolve => setTimeout(resolve, 1000))
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 150)
  t.equal(await countRows(rt, 'SELECT count(DISTINCT message_id)::int AS n FROM inbound_emails'), 150)
  t.equal(await countRows(rt, `SELECT count(*)::int AS n FROM inbound_emails WHERE attempts <> 1`), 0, 'no email handled twice')
})
