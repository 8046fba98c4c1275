/**
 * mailslot's IMAP sessions do not enable CONDSTORE: once a session has, Dovecot
 * answers every STORE, .SILENT or not, with a FETCH per message (to carry its
 * MODSEQ), which the poller would read and parse for nothing after marking
 * each batch. A session with imapflow's default options is the control.
 */
import t from 'tap'
import { ImapFlow, type ImapFlowOptions } from 'imapflow'
import { imapOptions } from '../../../src/providers/imap/connect.ts'
import { makeEmail } from '../../helpers/emails.ts'
import { startDovecot } from '../../helpers/dovecot.ts'

const imap = await startDovecot()
t.teardown(async () => await imap.stop())

/** The untagged FETCH responses a session reads while it marks every message of its INBOX \Seen, silently. */
async function fetchAnswers (options: ImapFlowOptions): Promise<{ condstore: boolean, answers: number }> {
  let answers = 0
  const quiet = (): void => {}
  const logger = { debug: quiet, info: quiet, warn: quiet, error: quiet, trace: (entry: { src?: string, msg?: string }) => { if (entry.src === 's' && /^\* \d+ FETCH /.test(entry.msg ?? '')) answers++ } }
  const client = new ImapFlow({ ...options, logger })
  client.on('error', quiet)
  await client.connect()
  const lock = await client.getMailboxLock('INBOX')
  try {
    await client.messageFlagsAdd('1:*', ['\\Seen'], { uid: true, silent: true })
    await client.noop()
  } finally {
    lock.release()
    await client.logout()
  }
  return { condstore: client.enabled.has('CONDSTORE'), answers }
}

t.test('marking 30 messages: no FETCH answer per message in a mailslot session, 30 in a default imapflow one', async t => {
  const [ours, control] = [imap.addUser(), imap.addUser()]
  const emails = Array.from({ length: 30 }, (_, i) => makeEmail(i))
  await imap.appendMany(ours.user, 'INBOX', emails)
  await imap.appendMany(control.user, 'INBOX', emails)

  t.same(await fetchAnswers(imapOptions({ host: imap.host, port: imap.port, tls: 'none', user: ours.user, password: ours.password })), { condstore: false, answers: 0 })
  t.same(await fetchAnswers(imap.clientOptions({ user: control.user, pass: control.password })), { condstore: true, answers: 30 })
})
