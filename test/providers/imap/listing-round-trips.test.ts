/**
 * Listing an idle mailbox costs one STATUS, and opens the folder (SELECT,
 * UID SEARCH) only when STATUS counts mail the search could take: unread mail
 * for `unseen` and for `new` once its floor is set, any mail for `all`. The
 * commands are counted on the wire, through a proxy in front of Dovecot.
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
let selects = 0
let statuses = 0
const proxy = net.createServer(inbound => {
  const outbound = net.connect(imap.port, imap.host)
  let pending = ''
  inbound.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1')
    const lines = pending.split('\r\n')
    pending = lines.pop() ?? ''
    for (const line of lines) {
      if (/^\S+ (UID )?SEARCH /i.test(line)) searches++
      if (/^\S+ (SELECT|EXAMINE) /i.test(line)) selects++
      if (/^\S+ STATUS /i.test(line)) statuses++
    }
  })
  inbound.pipe(outbound).pipe(inbound)
  inbound.on('error', () => outbound.destroy())
  outbound.on('error', () => inbound.destroy())
})
await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
t.teardown(async () => await new Promise(resolve => proxy.close(resolve)))
const port = (proxy.address() as AddressInfo).port

interface Listing { statuses: number, selects: number, searches: number, listed: number, cursor: unknown }

/** STATUS, SELECT and SEARCH commands of one listing on a new session, and what it listed. */
async function listing (
  user: { user: string, password: string }, search: ImapSearch, afterDelivery: AfterDelivery, cursor: unknown
): Promise<Listing> {
  const provider = new ImapProvider({ host: '127.0.0.1', port, tls: 'none', user: user.user, password: user.password, search }, afterDelivery)
  try {
    const before = { statuses, selects, searches }
    const result = await provider.listNew(cursor)
    return {
      statuses: statuses - before.statuses,
      selects: selects - before.selects,
      searches: searches - before.searches,
      listed: result.refs.length,
      cursor: result.cursor
    }
  } finally {
    await provider.close()
  }
}

/** Only a STATUS: the folder is not opened. */
const statusOnly = { statuses: 1, selects: 0, searches: 0, listed: 0, cursor: undefined }
/** STATUS, then the folder opened and searched. */
const searched = (listed: number, cursor?: unknown): Listing => ({ statuses: 1, selects: 1, searches: 1, listed, cursor })

t.test('an idle mailbox (read mail only): a STATUS, and a SEARCH only where read mail can be taken', async t => {
  const u = imap.addUser()
  await imap.appendMany(u.user, 'INBOX', [makeEmail(1), makeEmail(2), makeEmail(3)], ['\\Seen'])
  const uidValidity = String(await imap.uidValidity(u.user, 'INBOX'))
  const cursor = { uidValidity, lastUid: 3 }
  for (const afterDelivery of ['seen', 'delete'] as const) {
    t.same(await listing(u, 'unseen', afterDelivery, cursor), statusOnly, `unseen, ${afterDelivery}`)
  }
  t.same(await listing(u, 'all', 'seen', cursor), searched(0), 'all, seen: read messages below the cursor')
  t.same(await listing(u, 'new', 'seen', { ...cursor, floor: 3 }), statusOnly, 'new, after the first sync')
  t.same(await listing(u, 'new', 'seen', { ...cursor, uidValidity: '1', floor: 3 }), searched(0, { uidValidity, lastUid: 0, floor: 3 }),
    'new, its floor from another UIDVALIDITY: searched afresh')
  // the first `new` listing sets the floor at what is already there
  t.same(await listing(u, 'new', 'seen', null), searched(0, { uidValidity, lastUid: 0, floor: 3 }), 'new, first sync')
})

t.test('an empty folder: a STATUS only', async t => {
  const u = imap.addUser()
  await imap.appendMany(u.user, 'INBOX', [])
  t.same(await listing(u, 'unseen', 'delete', null), statusOnly)
  t.same(await listing(u, 'all', 'delete', null), statusOnly)
})

t.test('unread mail: STATUS, then SELECT and SEARCH', async t => {
  const u = imap.addUser()
  await imap.appendMany(u.user, 'INBOX', [makeEmail(4), makeEmail(5)])
  // the second SEARCH finds those of them over SMALL_BYTES, whose sizes are then fetched
  t.same(await listing(u, 'unseen', 'seen', null), { ...searched(2), searches: 2 })
})

t.test('a folder STATUS cannot read: the SELECT says why', async t => {
  const u = imap.addUser()
  const provider = new ImapProvider({ host: '127.0.0.1', port, tls: 'none', user: u.user, password: u.password, folder: 'Missing' }, 'seen')
  t.teardown(async () => await provider.close())
  await t.rejects(provider.listNew(null), /IMAP folder "Missing" cannot be opened/)
})
