import t from 'tap'
import { makeEmail } from '../helpers/emails.ts'
import { waitFor } from '../helpers/wait.ts'
import { imapFixture, imapMailbox } from './imap-fixture.ts'
import { countRows, finishedCount } from '../helpers/rows.ts'

t.test('200 emails: each stored once, handled once, marked \\Seen, raw bytes identical', async t => {
  const { imap, rt } = await imapFixture(t)
  const u = imap.addUser()
  const raws = Array.from({ length: 200 }, (_, i) => makeEmail(i))
  await imap.appendMany(u.user, 'INBOX', raws)
  const spec = imapMailbox(imap, u)
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201)
  await waitFor(async () => (await finishedCount(rt, spec.name as string)) === 200, '200 handled', 60_000)

  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 200)
  t.equal(await countRows(rt, `SELECT count(DISTINCT message_id)::int AS n FROM inbound_emails`), 200)
  t.equal(await countRows(rt, `SELECT count(*)::int AS n FROM inbound_emails WHERE status IN ('delivered', 'rejected') AND parsed IS NOT NULL AND attempts = 1`), 200, 'each handled once')
  // marked after the commit that queued their handling: it may end after they are handled
  const seen = async (): Promise<number> => (await imap.seen(u.user, 'INBOX')).length
  await waitFor(async () => await seen() === 200, 'all \\Seen', 10_000)
  t.equal(await seen(), 200, 'all \\Seen on the server')

  const list = await rt.api('GET', `/api/v1/emails?mailbox=${spec.name as string}&limit=1000`)
  t.equal(list.body.items.length, 200)
  const byMessageId = new Map<string, number>(list.body.items.map((e: { messageId: string, id: number }) => [e.messageId, e.id]))
  for (const i of [0, 57, 199]) {
    const id = byMessageId.get(/Message-ID: (<[^>]+>)/.exec(raws[i].toString())![1])!
    const res = await fetch(`${rt.address}/api/v1/emails/${id}/raw`, { headers: { authorization: `Bearer ${rt.token}` } })
    t.equal(res.headers.get('content-type'), 'message/rfc822')
    t.ok(Buffer.from(await res.arrayBuffer()).equals(raws[i]), `raw of message ${i} identical`)
    const one = await rt.api('GET', `/api/v1/emails/${id}`)
    // parsed and routed: its key names nothing in the built-in store
    t.equal(`${one.body.status as string}:${one.body.reason as string}`, 'rejected:unknown_key')
    t.equal(one.body.subject, `Test message ${i}`)
  }

  // a second poll finds nothing new
  t.equal((await rt.api('POST', `/api/v1/mailboxes/${spec.name as string}/poll`)).status, 202)
  await waitFor(async () => (await rt.api('GET', `/api/v1/mailboxes/${spec.name as string}`)).body.health.state === 'ok', 'health ok')
  await new Promise(resolve => setTimeout(resolve, 500))
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 200)
  const health = (await rt.api('GET', `/api/v1/mailboxes/${spec.name as string}`)).body.health
  t.equal(health.consecutiveFailures, 0)
  t.ok(health.lastSuccessAt)
})

t.test('afterDelivery delete and move:<folder>', async t => {
  const { imap, rt } = await imapFixture(t)
  const del = imap.addUser()
  const mov = imap.addUser()
  await imap.appendMany(del.user, 'INBOX', [makeEmail(1), makeEmail(2)])
  await imap.appendMany(mov.user, 'INBOX', [makeEmail(3), makeEmail(4), makeEmail(5)])
  await imap.createFolder(mov.user, 'Processed')
  const a = imapMailbox(imap, del, { afterDelivery: 'delete' })
  const b = imapMailbox(imap, mov, { afterDelivery: 'move:Processed' })
  await rt.api('POST', '/api/v1/mailboxes', a)
  await rt.api('POST', '/api/v1/mailboxes', b)
  await waitFor(async () => (await finishedCount(rt, a.name as string)) === 2 && (await finishedCount(rt, b.name as string)) === 3, 'all handled')
  t.equal(await imap.count(del.user, 'INBOX'), 0, 'deleted from the server')
  t.equal(await imap.count(mov.user, 'INBOX'), 0)
  t.equal(await imap.count(mov.user, 'Processed'), 3, 'moved')
})

t.test('empty and garbage messages end rejected with their reason; raw kept', async t => {
  const { imap, rt } = await imapFixture(t)
  const u = imap.addUser()
  // no LF and no NUL: IMAP serves line ends as CRLF and NUL as 0x80, so only such bytes round-trip exactly
  const garbage = Buffer.from([0xff, 0x13, 0x37, 0x80, 0x81, 0x09, 0xfe, 0xfa, 0x11, 0x7f])
  await imap.appendMany(u.user, 'INBOX', [Buffer.alloc(0), garbage, Buffer.from('just some words\r\nand no header at all\r\n'), makeEmail(9)])
  const spec = imapMailbox(imap, u)
  await rt.api('POST', '/api/v1/mailboxes', spec)
  await waitFor(async () => (await finishedCount(rt, spec.name as string)) === 4, 'all 4 handled')
  const { body } = await rt.api('GET', `/api/v1/emails?mailbox=${spec.name as string}`)
  const reasons = body.items.map((e: { status: string, reason: string | null }) => `${e.status}:${e.reason ?? ''}`).sort()
  t.same(reasons, ['rejected:empty', 'rejected:unknown_key', 'rejected:unparsable', 'rejected:unparsable'])
  const garbageRow = body.items.find((e: { size: number }) => e.size === garbage.length)
  const raw = await fetch(`${rt.address}/api/v1/emails/${garbageRow.id as number}/raw`, { headers: { authorization: `Bearer ${rt.token}` } })
  t.ok(Buffer.from(await raw.arrayBuffer()).equals(garbage), 'garbage bytes kept as they were')
})
