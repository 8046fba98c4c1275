/**
 * Runs a private Dovecot for manual work on mailslot, until Ctrl-C.
 *
 *   node scripts/dovecot/serve.ts [--ssl] [--high-performance] [--messages N] [user [password]]
 *
 * Prints the IMAP host, port, user and password; with --messages N delivers
 * N small test messages into the user's INBOX.
 */
import { startDovecot } from '../../test/helpers/dovecot.ts'

const args = process.argv.slice(2)
const flag = (name: string): boolean => {
  const i = args.indexOf(name)
  if (i === -1) return false
  args.splice(i, 1)
  return true
}
const ssl = flag('--ssl')
const highPerformance = flag('--high-performance')
const countAt = args.indexOf('--messages')
const messages = countAt === -1 ? 0 : Number(args.splice(countAt, 2)[1])

const imap = await startDovecot({ ssl, highPerformance })
const { user, password } = imap.addUser(args[0], args[1])
if (messages > 0) {
  await imap.appendMany(user, 'INBOX', Array.from({ length: messages }, (_, i) =>
    `From: sender${i}@example.org\r\nTo: ${user}\r\nSubject: Test ${i}\r\nMessage-ID: <serve-${i}-${Date.now()}@example.org>\r\n\r\nBody ${i}\r\n`))
}
console.log(JSON.stringify({ host: imap.host, port: imap.port, tlsPort: imap.tlsPort, user, password, log: imap.logPath }, null, 2))
if (imap.ca) console.log(imap.ca)
console.log('Ctrl-C stops Dovecot and removes its folder.')

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    void imap.stop().then(() => process.exit(0))
  })
}
setInterval(() => {}, 1 << 30)
