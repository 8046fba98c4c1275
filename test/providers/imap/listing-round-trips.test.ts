/**
 * Listing an idle mailbox costs one UID SEARCH, whatever imap.search says
 * (none for an empty folder): the commands are counted on the wire, through
 * a proxy in front of Dovecot.
 */
import net, { type AddressInfo } from 'node:net'
import t from 'tap'
import { ImapProvider } from '../../../src/providers/imap/provider.ts'
import type { AfterDelivery, ImapSearch } from '../../../src/mailboxes/types.ts'
import { makeEmail } from '../../helpers/emails.ts'
import { startDovecot } from '../../helpers/dovecot.ts'

const imap = await startDovecot()
t.teardown(async () => await imap.stop())

let searches = 0
const proxy = net.createServer(inbound => {
  const outbound = net.connect(imap.port, imap.host)
  let pending = ''
  inbound.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1')
    const lines = pending.split('\r\n')
    pending = lines.pop() ?? ''
    for (const line of lines) if (/^\S+ (UID )?SEARCH /i.test(line)) searches++
  })
  inbound.pipe(outbound).pipe(inbound)
  inbound.on('error', () => outbound.destroy())
  outbound.on('error', () => inbound.destroy())
})
await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
t.teardown(async () => await new Promise(resolve => proxy.close(resolve)))
const port = (proxy.address() as AddressInfo).port

/** SEARCH commands of one listing on a new session, and what it listed. */
async function listing (
  user: { user: string, password: string }, search: ImapSearch, afterDelivery: AfterDelivery, cursor: unknown
): Promise<{ searches: number, listed: number, cursor: unknown }> {
  const provider = new ImapProvider({ host: '127.0.0.1', port, tls: 'none', user: user.user, password: user.password, search }, afterDelivery)
  try {
    const before = searches
    const result = await provider.listNew(cursor)
    return { searches: searches - before, listed: result.refs.length, cursor: result.cursor }
  } finally {
    await provider.close()
  }
}

t.test('an idle mailbox: one UID SEARCH per listing', async t => {
  const u = imap.addUser()
  await imap.appendMany(u.user, 'INBOX', [makeEmail(1), makeEmail(2), makeEmail(3)], ['\\Seen'])
  const uidValidity = String(await imap.uidValidity(u.user, 'INBOX'))
  const cursor = { uidValidity, lastUid: 3 }
  for (const afterDelivery of ['seen', 'delete'] as const) {
    t.same(await listing(u, 'unseen', afterDelivery, cursor), { searches: 1, listed: 0, cursor: undefined }, `unseen, ${afterDelivery}`)
  }
  t.same(await listing(u, 'all', 'seen', cursor), { searches: 1, listed: 0, cursor: undefined }, 'all, seen: read messages below the cursor')
  t.same(await listing(u, 'new', 'seen', { ...cursor, floor: 3 }), { searches: 1, listed: 0, cursor: undefined }, 'new, after the first sync')
  // the first `new` listing sets the floor at what is already there
  t.same(await listing(u, 'new', 'seen', null), { searches: 1, listed: 0, cursor: { uidValidity, lastUid: 0, floor: 3 } }, 'new, first sync')
})

t.test('an empty folder: no SEARCH at all', async t => {
  const u = imap.addUser()
  await imap.appendMany(u.user, 'INBOX', [])
  t.same(await listing(u, 'unseen', 'delete', null), { searches: 0, listed: 0, cursor: undefined })
  t.same(await listing(u, 'all', 'delete', null), { searches: 0, listed: 0, cursor: undefined })
})
