/**
 * The email parser: big emails go to a worker thread and must come back as
 * the same ParsedEmail an inline parse gives (Buffers included); small ones
 * are parsed on the event loop.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { createEmailParser, INLINE_BYTES } from '../../src/routing/parse-pool.ts'
import { parseEmail } from '../../src/routing/parse.ts'

function withAttachment (payload: Buffer): Buffer {
  return Buffer.from([
    'From: Big <big@example.com>', 'To: incoming+key@example.com', 'Subject: a big one', 'Message-ID: <big@example.com>',
    'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '',
    '--b', 'Content-Type: text/plain; charset=utf-8', '', 'Grüße, see attached', '--b',
    'Content-Type: image/png', 'Content-Disposition: attachment; filename="pic.png"', 'Content-Transfer-Encoding: base64', '',
    payload.toString('base64').replace(/.{76}/g, '$&\r\n'), '--b',
    'Content-Type: application/pkcs7-signature; name="smime.p7s"', 'Content-Transfer-Encoding: base64', '', 'AAAA', '--b--', ''
  ].join('\r\n'))
}

t.test('an email over INLINE_BYTES parsed in a thread equals the inline parse', async t => {
  const parser = createEmailParser(1)
  t.teardown(parser.close)
  const payload = randomBytes(INLINE_BYTES)
  const raw = withAttachment(payload)
  t.ok(raw.length > INLINE_BYTES, 'the email is big enough to leave the event loop')
  // a view into a larger buffer, as node-pg hands them over: only the view's bytes count
  const padded = Buffer.concat([Buffer.from('xxxx'), raw, Buffer.from('yyyy')]).subarray(4, 4 + raw.length)
  const threaded = await parser.parse(padded, { maxAttachmentBytes: 10 * 1024 * 1024 })
  const inline = await parseEmail(raw, { maxAttachmentBytes: 10 * 1024 * 1024 })
  t.same(threaded, inline)
  if ('rejected' in threaded) throw new Error('rejected')
  const pic = threaded.attachments.find(a => a.filename === 'pic.png')!
  t.ok(Buffer.isBuffer(pic.content), 'attachment content is a Buffer again')
  t.ok(pic.content.equals(payload), 'attachment bytes intact')
  t.equal(threaded.text?.trim(), 'Grüße, see attached')
  t.equal(padded.length, raw.length, 'the caller\'s buffer is still usable')
  t.ok(padded.equals(raw))
})

t.test('rejections come back from the thread as they are', async t => {
  const parser = createEmailParser(1)
  t.teardown(parser.close)
  const garbage = Buffer.alloc(INLINE_BYTES + 10, 0x41)
  t.same(await parser.parse(garbage), { rejected: 'unparsable', detail: 'the message does not start with a header field' })
  t.same(await parser.parse(Buffer.alloc(INLINE_BYTES + 10, 0x20)), { rejected: 'empty', detail: 'the message has no content' })
})

t.test('small emails parse without a thread, and close is safe either way', async t => {
  const parser = createEmailParser(1)
  const r = await parser.parse(Buffer.from('From: a@example.com\r\nSubject: small\r\n\r\nhi\r\n'))
  t.equal('rejected' in r ? null : r.subject, 'small')
  await parser.close()
  await parser.close()
})
