/** The parse summary kept on each email: what routing needs, and only what the email has. */
import t from 'tap'
import { parseEmail, isParseRejection } from '../../src/parsing/parse.ts'
import { parsedSummary } from '../../src/inbound/summary.ts'
import type { ParsedEmail } from '../../src/parsing/types.ts'

async function parsed (lines: string[]): Promise<ParsedEmail> {
  const p = await parseEmail(Buffer.from(lines.join('\r\n')))
  if (isParseRejection(p)) throw new Error(p.rejected)
  return p
}

t.test('every header routing reads is kept, with the sizes and the attachment count', async t => {
  const p = await parsed([
    'Message-ID: <m1@example.org>', 'In-Reply-To: <m0@example.org>', 'References: <r1@example.org> <m0@example.org>',
    'From: Ann <ann@example.org>', 'Reply-To: replies@example.org', 'Sender: list@example.org',
    'To: incoming+key@example.com', 'Cc: Bob <bob@example.org>', 'Subject: Hello', 'Date: Sun, 01 Nov 2026 12:00:00 +0000',
    'Delivered-To: incoming+key@example.com', 'X-Original-To: support@example.com',
    'Auto-Submitted: auto-replied', 'X-Autoreply: yes', 'Precedence: bulk',
    'Content-Type: text/plain', '', 'Hi there', ''])
  t.same(parsedSummary(p), {
    messageId: '<m1@example.org>',
    inReplyTo: '<m0@example.org>',
    references: ['<r1@example.org>', '<m0@example.org>'],
    from: { address: 'ann@example.org', name: 'Ann' },
    replyTo: [{ address: 'replies@example.org', name: '' }],
    sender: { address: 'list@example.org', name: '' },
    to: [{ address: 'incoming+key@example.com', name: '' }],
    cc: [{ address: 'bob@example.org', name: 'Bob' }],
    subject: 'Hello',
    date: '2026-11-01T12:00:00.000Z',
    delivery: { deliveredTo: ['incoming+key@example.com'], xOriginalTo: ['support@example.com'] },
    autoSubmitted: 'auto-replied',
    xAutoreply: 'yes',
    precedence: 'bulk',
    sizes: p.sizes,
    attachmentCount: 0
  })
  t.ok(p.sizes.text > 0, 'the sizes are the parse\'s')
})

t.test('what an email does not have is left out, not stored as null or an empty list', async t => {
  const p = await parsed(['Subject: bare', '', 'body', ''])
  const summary = parsedSummary(p)
  t.same(Object.keys(summary).sort(), ['attachmentCount', 'messageId', 'sizes', 'subject'])
  t.match(summary.messageId, /@mailslot>$/, 'the synthesized Message-ID is kept: dedupe and replies use it')
})
