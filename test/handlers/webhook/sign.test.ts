import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { webhookHeaders, webhookId } from '../../../src/handlers/webhook/deliver.ts'
import { MAX_TEXT_CHARS, emailReceivedEvent, rawUrlFor } from '../../../src/handlers/webhook/payload.ts'
import { isParseRejection, parseEmail } from '../../../src/parsing/parse.ts'
import { route } from '../../../src/routing/route.ts'
import type { ParsedEmail } from '../../../src/parsing/types.ts'
import { batchMemo } from '../../../src/handlers/types.ts'

const secret = `whsec_${randomBytes(32).toString('base64')}`

t.test('signed per Standard Webhooks: Webhook.verify accepts it, with the right secret only', async t => {
  const body = JSON.stringify({ type: 'email.received', n: 1 })
  const headers = webhookHeaders(secret, webhookId(42), body)
  t.equal(headers['webhook-id'], 'msg_42')
  t.match(headers['webhook-timestamp'], /^\d{10}$/)
  t.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/)
  t.same(new Webhook(secret).verify(body, headers), { type: 'email.received', n: 1 })

  const other = `whsec_${randomBytes(32).toString('base64')}`
  t.throws(() => new Webhook(other).verify(body, headers), /No matching signature/, 'another secret fails')
  t.throws(() => new Webhook(secret).verify(body.replace('1', '2'), headers), /No matching signature/, 'a changed body fails')
  t.throws(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_43' }), /No matching signature/, 'another id fails')
  const old = webhookHeaders(secret, 'msg_42', body, new Date(Date.now() - 10 * 60_000))
  t.throws(() => new Webhook(secret).verify(body, old), /too old/, 'a stale timestamp fails')
})

t.test('a secret that is not whsec_<base64> is a permanent error, without the secret in it', async t => {
  t.throws(() => webhookHeaders('whsec_%%%notbase64', 'msg_1', '{}'), { message: 'the webhook secret is not a valid whsec_<base64> secret' })
})

async function parse (raw: string): Promise<ParsedEmail> {
  const p = await parseEmail(Buffer.from(raw))
  if (isParseRejection(p)) throw new Error(p.rejected)
  return p
}

const reply = [
  'From: Alice <alice@example.org>',
  'To: incoming+group-project-12-abc123-issue@example.com',
  'Cc: Bob <bob@example.org>',
  'Subject: Re: the plan',
  'Date: Sun, 01 Nov 2026 12:00:00 +0000',
  'Message-ID: <m2@example.org>',
  'In-Reply-To: <m1@example.org>',
  'References: <m0@example.org> <m1@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b"',
  '',
  '--b',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Sounds good.',
  '',
  'On Sat, 31 Oct 2026, Bob wrote:',
  '> the plan is this',
  '--b',
  'Content-Type: application/pdf',
  'Content-Disposition: attachment; filename="plan.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('%PDF-1.4 tiny').toString('base64'),
  '--b--',
  ''
].join('\r\n')

t.test('the email.received payload, version 1', async t => {
  const parsed = await parse(reply)
  const routing = route(parsed, { wildcard: 'incoming+%{key}@example.com' })
  const raw = Buffer.from(reply)
  const event = emailReceivedEvent({ id: 7, mailboxId: 1, mailboxName: 'support', raw, memo: batchMemo() }, parsed, routing, 'https://mail.example.com/api/v1/emails/7/raw')
  t.same(JSON.parse(JSON.stringify(event)), {
    type: 'email.received',
    version: 1,
    email: {
      id: 7,
      mailbox: 'support',
      messageId: '<m2@example.org>',
      inReplyTo: '<m1@example.org>',
      references: ['<m0@example.org>', '<m1@example.org>'],
      from: { address: 'alice@example.org', name: 'Alice' },
      to: [{ address: 'incoming+group-project-12-abc123-issue@example.com', name: '' }],
      cc: [{ address: 'bob@example.org', name: 'Bob' }],
      subject: 'Re: the plan',
      date: '2026-11-01T12:00:00.000Z',
      size: raw.length,
      text: 'Sounds good.\n\nOn Sat, 31 Oct 2026, Bob wrote:\n> the plan is this',
      replyText: 'Sounds good.',
      textTruncated: false,
      attachments: [{ filename: 'plan.pdf', contentType: 'application/pdf', size: 13, inline: false }]
    },
    routing: {
      outcome: 'handle',
      handler: 'create_issue',
      key: 'group-project-12-abc123-issue',
      header: 'to',
      match: { handler: 'create_issue', token: 'abc123', form: 'project_id', projectSlug: 'group-project', projectId: 12 }
    },
    rawUrl: 'https://mail.example.com/api/v1/emails/7/raw'
  })
})

t.test('a huge body is cut, and says so', async t => {
  const parsed = await parse(`From: a@example.org\r\nSubject: big\r\n\r\n${'x'.repeat(MAX_TEXT_CHARS + 10)}\r\n`)
  const event = emailReceivedEvent({ id: 1, mailboxId: 1, mailboxName: 'm', raw: Buffer.alloc(0), memo: batchMemo() }, parsed, { outcome: 'reject', reason: 'no_key', detail: 'none' }, 'u')
  t.equal(event.email.text.length, MAX_TEXT_CHARS)
  t.equal(event.email.textTruncated, true)
})

t.test('rawUrl: MAILSLOT_PUBLIC_URL, else the listen address', async t => {
  t.equal(rawUrlFor({ publicUrl: 'https://mail.example.com', host: '127.0.0.1', port: 3000 }, 5), 'https://mail.example.com/api/v1/emails/5/raw')
  t.equal(rawUrlFor({ host: '127.0.0.1', port: 3000 }, 5), 'http://127.0.0.1:3000/api/v1/emails/5/raw')
  t.equal(rawUrlFor({ host: '::1', port: 8080 }, 5), 'http://[::1]:8080/api/v1/emails/5/raw')
})
