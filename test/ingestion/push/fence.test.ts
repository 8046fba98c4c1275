/**
 * A holder cut off from PostgreSQL cannot renew its lease: it closes its IDLE
 * connection before the lease can expire (so that a process taking it over
 * never idles beside it), and holds the mailbox again once the database is
 * back. One private PostgreSQL, crashed and started by the test.
 */
import t from 'tap'
import { startDovecot } from '../../helpers/dovecot.ts'
import { makeEmail } from '../../helpers/emails.ts'
import { startPrivatePostgres } from '../../helpers/private-postgres.ts'
import { startTestRuntime } from '../../helpers/runtime.ts'
import { waitFor } from '../../helpers/wait.ts'
import { LEASE_SECONDS } from '../../../src/ingestion/push/supervisor.ts'
import { handled, pushBox } from './push-fixture.ts'

t.setTimeout(300_000)

t.test('without the database, the IDLE connection goes before the lease expires, and comes back with it', async t => {
  const postgres = await startPrivatePostgres(t)
  const imap = await startDovecot()
  t.teardown(async () => { await imap.stop() })
  const rt = await startTestRuntime(t, { databaseUrl: await postgres.createDatabase('push_fence') })
  const box = await pushBox(t, imap)
  t.equal((await rt.api('POST', '/api/v1/mailboxes', box.spec)).status, 201)
  await waitFor(async () => box.proxy.idling() === 1, 'the IDLE connection', 60_000)

  const crashedAt = Date.now()
  await postgres.crash()
  t.teardown(postgres.start)
  await waitFor(async () => box.proxy.open() === 0, 'the IDLE connection let go', 120_000)
  const after = Date.now() - crashedAt
  t.comment(`IDLE connection closed ${after} ms after the database went away`)
  t.ok(after < LEASE_SECONDS * 1000, `closed after ${after} ms, within the ${LEASE_SECONDS} s lease`)

  await postgres.start()
  await waitFor(async () => box.proxy.idling() === 1, 'IDLE again', 120_000)
  await imap.append(box.user, 'INBOX', makeEmail(1))
  await waitFor(async () => (await handled(rt, box.spec.name)).n === 1, 'new mail handled', 120_000)
  t.pass('new mail handled once the database is back')
})
