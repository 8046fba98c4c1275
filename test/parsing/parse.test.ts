import t from 'tap'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { isParseRejection, parseEmail } from '../../src/parsing/index.ts'
import type { ParsedEmail } from '../../src/parsing/index.ts'
import { CORPUS_DIR, corpusFiles } from '../helpers/corpus.ts'

async function parsed (raw: Buffer | string): Promise<ParsedEmail> {
  const r = await parseEmail(Buffer.isBuffer(raw) ? raw : Buffer.from(raw))
  if (isParseRejection(r)) throw new Error(`rejected: ${r.rejected}`)
  return r
}

const isValidUtf8 = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s

/** Every string anywhere in the parsed email (attachment content aside). */
function strings (value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Buffer.isBuffer(value) || value === null || typeof value !== 'object') return []
  return Object.values(value).flatMap(strings)
}

// A fixed pseudo-random byte string: garbage, but the same on every run.
function garbage (n: number): Buffer {
  const b = Buffer.alloc(n)
  let x = 12345
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; b[i] = x >>> 24 }
  return b
}

t.test('rejections', async t => {
  const cases: Array<[string, Buffer, 'empty' | 'unparsable']> = [
    ['no bytes', Buffer.alloc(0), 'empty'],
    ['whitespace only', Buffer.from(' \r\n\t\n  \n'), 'empty'],
    ['garbage bytes', garbage(4096), 'unparsable'],
    ['header-less text', Buffer.from('Hello team,\n\nplease find the report below.\nThanks\n'), 'unparsable'],
    ['the spec\'s "asdf" * 30', Buffer.from('asdf'.repeat(30)), 'unparsable'],
    ['a body after a blank line only', Buffer.from('\n\nJust text, no headers: really\n'), 'unparsable']
  ]
  for (const [label, raw, expected] of cases) {
    const r = await parseEmail(raw)
    t.ok(isParseRejection(r), label)
    t.match(r, { rejected: expected, detail: String }, label)
  }
})

t.test('leading blank lines are tolerated (as Ruby Mail does)', async t => {
  for (const file of ['dutch.eml', 'html_empty_link.eml', 'on_wrote.eml', 'outlook_html.eml']) {
    const raw = readFileSync(CORPUS_DIR + file)
    t.equal(raw[0], 0x0a, `${file} starts with a blank line`)
    const p = await parsed(raw)
    t.ok(p.from?.address.includes('@'), `${file}: From read`)
    t.ok(p.to.length > 0, `${file}: To read`)
  }
  const p = await parsed(' \r\n\r\nFrom: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\n\r\nbody\r\n')
  t.equal(p.subject, 'x')
})

t.test('message id, date and references', async t => {
  const raw = 'From: a@b.example\nTo: c@d.example\nDate: not a date\nReferences: <one@x>,<two@x>\n "<three@x>"\nIn-Reply-To: <two@x> <one@x>\n\nhi\n'
  const p = await parsed(raw)
  t.equal(p.messageIdSynthesized, true)
  t.equal(p.messageId, `<${createHash('sha256').update(raw).digest('hex')}@mailslot>`, 'synthesised from the checksum')
  t.equal(p.checksum, createHash('sha256').update(raw).digest('hex'))
  t.equal(p.date, null, 'an unreadable date is unknown, not "now"')
  t.same(p.references, ['<one@x>', '<two@x>', '<three@x>'])
  t.equal(p.inReplyTo, '<two@x>')

  const q = await parsed('Message-ID: <m1@example.org>\nDate: Thu, 13 Jun 2013 17:03:48 -0400\nReferences: bare@id other@id\n\nhi\n')
  t.equal(q.messageId, '<m1@example.org>')
  t.equal(q.messageIdSynthesized, false)
  t.equal(q.date, '2013-06-13T21:03:48.000Z')
  t.same(q.references, ['<bare@id>', '<other@id>'], 'ids without brackets still split')
  t.equal((await parsed('From: a@b.example\n\nx')).date, null, 'no Date header')
  const ids: Array<[string, string | null]> = [
    ['Message-ID: <x@y>  (comment)', '<x@y>'],
    ['Message-ID: bare@id', '<bare@id>'],
    ['Message-ID: <>', null],
    ['Message-ID:', null]
  ]
  for (const [header, id] of ids) {
    const m = await parsed(`From: a@b.example\n${header}\n\nx`)
    t.equal(m.messageIdSynthesized ? null : m.messageId, id, header)
  }
})

t.test('addresses, delivery headers and sizes', async t => {
  const raw = [
    'From: "Jake" <jake@example.com>',
    'Sender: bot@example.com',
    'Reply-To: a@example.com, b@example.com',
    'To: Team: x@example.com, y@example.com;, z@example.com',
    'Cc: <cc@example.com>',
    'Delivered-To: one@example.com',
    'Delivered-To: two@example.com',
    'X-Original-To: orig@example.com',
    'Received: from a by b\n\tfor <rcpt@example.com>; Thu, 13 Jun 2013 17:03:48 -0400',
    'Received: from c by d; Thu, 13 Jun 2013 17:03:48 -0400',
    'Precedence: bulk',
    'Subject: =?utf-8?Q?caf=C3=A9?=',
    '',
    'body text'
  ].join('\r\n')
  const p = await parsed(raw)
  t.same(p.from, { address: 'jake@example.com', name: 'Jake' })
  t.same(p.sender, { address: 'bot@example.com', name: '' })
  t.same(p.replyTo.map(a => a.address), ['a@example.com', 'b@example.com'])
  t.same(p.to.map(a => a.address), ['x@example.com', 'y@example.com', 'z@example.com'], 'groups flattened')
  t.same(p.cc.map(a => a.address), ['cc@example.com'])
  t.same(p.delivery.deliveredTo, ['one@example.com', 'two@example.com'], 'repeated headers all kept, in order')
  t.same(p.delivery.xOriginalTo, ['orig@example.com'])
  t.same(p.delivery.receivedFor, ['rcpt@example.com'], 'folded Received read')
  t.equal(p.precedence, 'bulk')
  t.equal(p.subject, 'café')
  t.equal(p.text, 'body text')
  t.same(p.sizes, { raw: Buffer.byteLength(raw), text: 9, html: 0, attachments: 0 })
  t.ok(p.headers.some(h => h.name === 'delivered-to' && h.value === 'two@example.com'))
})

t.test('broken charsets decode to valid UTF-8', async t => {
  const sjis = Buffer.from([0x83, 0x73, 0x81, 0x5b, 0x83, 0x5e, 0x81, 0x5b]) // ピーター in Shift_JIS
  const cases: Array<[string, Buffer]> = [
    ['8-bit Shift_JIS in headers, undeclared', Buffer.concat([
      Buffer.from('From: '), sjis, Buffer.from(' <a@b.example>\nSubject: '), sjis, Buffer.from('\nTo: c@d.example\n\n'), sjis, Buffer.from('\n')
    ])],
    ['unknown charset label', Buffer.concat([
      Buffer.from('From: a@b.example\nContent-Type: text/plain; charset=x-no-such-charset\nSubject: =?x-bogus?B?gnOBWw==?=\n\n'), sjis
    ])],
    ['declared UTF-8, not UTF-8', Buffer.concat([
      Buffer.from('From: a@b.example\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n<p>'), sjis, Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('</p>')
    ])],
    ['multipart with a broken part charset', Buffer.concat([
      Buffer.from('From: a@b.example\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain; charset=utf-16\n\n'),
      Buffer.from([0xd8, 0x00, 0x41]), Buffer.from('\n--XX--\n')
    ])],
    ['broken multipart body (fallback path)', Buffer.concat([
      Buffer.from('From: a@b.example\nContent-Type: multipart/alternative; boundary=nope; charset=bogus-cs\n\n'), sjis, Buffer.from([0xed, 0xa0, 0x80])
    ])],
    ['service_desk_reply_illegal_utf8.eml', readFileSync(CORPUS_DIR + 'service_desk_reply_illegal_utf8.eml')]
  ]
  for (const [label, raw] of cases) {
    const p = await parsed(raw)
    const all = strings(p)
    t.ok(all.length > 0, label)
    t.ok(all.every(isValidUtf8), `${label}: every string is valid UTF-8`)
  }
})

t.test('a Shift_JIS part that says so decodes to Japanese', async t => {
  const p = await parsed(readFileSync(CORPUS_DIR + '_alternate_versions/ef9eff8e7e1b38f48a354f90ecaeeb67da35b08c/service_desk_reply_illegal_utf8.eml'))
  t.ok(p.text?.includes('ピーター・ジョーンズ'))
})

t.test('a multipart without boundaries falls back to its body, unless it is MIME', async t => {
  const p = await parsed('From: a@b.example\nContent-Type: multipart/alternative; boundary=x\n\nPlain words.\n')
  t.equal(p.text, 'Plain words.\n')
  const q = await parsed('From: a@b.example\nContent-Type: multipart/alternative; boundary=x\n\n--y\nContent-Type: text/plain\n\nwords\n--y--\n')
  t.equal(q.text, null, 'unparsed MIME is not prose')
})

t.test('every corpus email parses, into valid UTF-8', async t => {
  for (const file of corpusFiles()) {
    const p = await parsed(readFileSync(CORPUS_DIR + file))
    t.ok(strings(p).every(isValidUtf8), file)
  }
})

t.test('attachment content past maxAttachmentBytes is counted, not kept', async (t) => {
  const payload = Buffer.alloc(300_000, 7)
  const raw = Buffer.from([
    'From: a@example.com', 'To: b@example.com', 'Subject: big', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '',
    '--b', 'Content-Type: text/plain', '', 'see attached', '--b', 'Content-Type: application/octet-stream', 'Content-Disposition: attachment; filename="big.bin"',
    'Content-Transfer-Encoding: base64', '', payload.toString('base64').replace(/.{76}/g, '$&\r\n'), '--b', 'Content-Type: text/csv', 'Content-Disposition: attachment; filename="small.csv"', '', 'a,b', '--b--', ''
  ].join('\r\n'))
  const parsed = await parseEmail(raw, { maxAttachmentBytes: 100_000 })
  if (isParseRejection(parsed)) throw new Error('rejected')
  const big = parsed.attachments.find((a) => a.filename === 'big.bin')!
  t.equal(big.size, 300_000, 'the real size')
  t.equal(big.contentOmitted, true)
  t.equal(big.content.length, 0)
  const small = parsed.attachments.find((a) => a.filename === 'small.csv')!
  t.equal(small.contentOmitted, false)
  t.equal(small.content.toString().trim(), 'a,b')
  t.match(parsed.text, 'see attached')
  const whole = await parseEmail(raw)
  if (isParseRejection(whole)) throw new Error('rejected')
  t.ok(whole.attachments.find((a) => a.filename === 'big.bin')!.content.equals(payload), 'without a limit the bytes are all there')
})

t.test('a known checksum is taken as given (the stored one, also when only the header block is parsed)', async (t) => {
  const raw = Buffer.from('From: a@example.com\r\nSubject: no id\r\n\r\nbody\r\n')
  const known = 'ab'.repeat(32)
  const r = await parseEmail(raw, { checksum: known })
  if (isParseRejection(r)) throw new Error('rejected')
  t.equal(r.checksum, known)
  t.equal(r.messageId, `<${known}@mailslot>`, 'a missing Message-ID is made from it, as when it was stored')
  const own = await parseEmail(raw)
  if (isParseRejection(own)) throw new Error('rejected')
  t.equal(own.checksum, createHash('sha256').update(raw).digest('hex'), 'otherwise computed')
})
