// Bounces and loops are rejected by route() before any key lookup, ahead of
// auto_generated; ordinary mail to the same key is routed as before.
import t from 'tap'
import { parseEmail, isParseRejection, type ParsedEmail } from '../../src/parsing/index.ts'
import { route } from '../../src/routing/index.ts'

const WILDCARD = 'incoming+%{key}@example.com'
const KEY = 'acme-widgets-1-abcdef-issue'

async function parsed (head: string[], body = 'Hello\r\n'): Promise<ParsedEmail> {
  const raw = Buffer.from([...head, 'Subject: s', 'Message-ID: <m1@example.org>', '', body].join('\r\n'))
  const r = await parseEmail(raw)
  if (isParseRejection(r)) throw new Error(r.rejected)
  return r
}

const to = `To: incoming+${KEY}@example.com`
const DSN_BODY = [
  '--b', 'Content-Type: text/plain', '', 'Delivery failed.', '',
  '--b', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.example.org', '', 'Final-Recipient: rfc822; x@example.net',
  'Action: failed', 'Status: 5.1.1', '', '--b--', ''
].join('\r\n')

const TABLE: Array<[string, string[], string, string]> = [
  ['a DSN from postmaster', ['From: postmaster@example.org', to, 'Content-Type: multipart/report; report-type=delivery-status; boundary=b'], DSN_BODY, 'bounce'],
  ['a read receipt (MDN)', ['From: someone@example.org', to, 'Content-Type: multipart/report; report-type="disposition-notification"; boundary=b'], DSN_BODY, 'bounce'],
  ['a text bounce from MAILER-DAEMON', ['From: Mail Delivery System <MAILER-DAEMON@mx.example.org>', to], 'It bounced.\r\n', 'bounce'],
  ['an Exim bounce', ['From: a@example.org', to, 'X-Failed-Recipients: x@example.net'], 'It bounced.\r\n', 'bounce'],
  ['sent from a reply address of the mailbox', [`From: incoming+${'a'.repeat(32)}@Example.com`, to], 'Hi\r\n', 'loop'],
  ['sent from the mailbox address itself', ['From: Incoming <incoming@example.com>', to], 'Hi\r\n', 'loop'],
  ['an X-Loop naming the mailbox', ['From: a@example.org', to, 'X-Loop: incoming@example.com'], 'Hi\r\n', 'loop'],
  ['a loop and an auto-reply: loop first', ['From: incoming@example.com', to, 'Auto-Submitted: auto-replied'], 'Hi\r\n', 'loop'],
  ['a bounce and an auto-reply: bounce first', ['From: MAILER-DAEMON@mx.example.org', to, 'Auto-Submitted: auto-replied'], 'x\r\n', 'bounce']
]

t.test('bounces and loops are rejected before the key is looked up', async t => {
  for (const [label, head, body, reason] of TABLE) {
    t.match(route(await parsed(head, body), { wildcard: WILDCARD }), { outcome: 'reject', reason, detail: String }, label)
  }
})

t.test('a Message-ID mailslot made up, coming back, is a loop; a made-up one of our own parse is not', async t => {
  const made = await parsed(['From: a@example.org', to])
  t.match(route({ ...made, messageId: `<${'0'.repeat(64)}@mailslot>` }, { wildcard: WILDCARD }), { reason: 'loop' })
  const noId = await parseEmail(Buffer.from(`From: a@example.org\r\n${to}\r\nSubject: s\r\n\r\nHi\r\n`))
  if (isParseRejection(noId)) throw new Error(noId.rejected)
  t.ok(noId.messageIdSynthesized)
  t.match(route(noId, { wildcard: WILDCARD }), { outcome: 'handle', key: KEY })
})

t.test('ordinary mail is routed: an X-Loop of someone else, postmaster without a report, another host', async t => {
  for (const head of [
    ['From: a@example.org', to, 'X-Loop: list@lists.example.net'],
    ['From: postmaster@example.org', to],
    ['From: incoming@other.example', to],
    ['From: a@example.org', to, 'Content-Type: multipart/mixed; boundary=b']
  ]) {
    t.match(route(await parsed(head), { wildcard: WILDCARD }), { outcome: 'handle', key: KEY }, head.join(' | '))
  }
})
