// What the corpus emails carry, where MANIFEST.md states it: GitLab's
// mail_room metadata (delivered_to, envelope_to, received_recipients,
// references …), senders, subjects, Message-IDs and attachments.
import t from 'tap'
import { loadParsed } from '../helpers/corpus.ts'

const INCOMING_LEGACY = 'incoming+gitlabhq/gitlabhq+auth_token@appmail.example.com'
const SD_MESSAGE_ID = '<CADkmRc+rNGAGGbV2iE5p918UVy4UyJqVcXRO2=otppgzduJSg@mail.gmail.com>'

const TABLE: Record<string, object> = {
  'envelope_to_header.eml': { delivery: { envelopeTo: [INCOMING_LEGACY] }, from: { address: 'jake@example.com' } },
  // the raw value keeps its brackets, as GitLab's metadata does
  'envelope_to_header_with_angle_brackets.eml': { delivery: { envelopeTo: [`<${INCOMING_LEGACY}>`] } },
  'forwarded_new_issue.eml': { delivery: { deliveredTo: [INCOMING_LEGACY, 'support@example.com'] } },
  'missing_delivered_to_header.eml': {
    delivery: { deliveredTo: [], envelopeTo: [], receivedFor: [INCOMING_LEGACY, 'incoming+gitlabhq/gitlabhq@example.com'] }
  },
  'x_envelope_to_header.eml': { delivery: { xEnvelopeTo: [INCOMING_LEGACY] } },
  'valid_reply_with_references_in_comma.eml': {
    references: ['<reply-59d8df8370b7e95c5a49fbf86aeb2c93@localhost>', '<issue_1@localhost>', '<exchange@microsoft.com>']
  },
  'reply_without_subaddressing_and_key_inside_references_with_a_comma.eml': {
    references: ['<issue_1@localhost>', '<reply-59d8df8370b7e95c5a49fbf86aeb2c93@localhost>', '<exchange@microsoft.com>']
  },
  'auto_reply.eml': { xAutoreply: 'yes' },
  'service_desk_custom_email_address_verification.eml': { autoSubmitted: 'no', to: [{ address: 'custom-support-email+verify@example.com' }] },
  'service_desk.eml': {
    from: { address: 'jake@adventuretime.ooo' },
    subject: 'The message subject! @all',
    messageId: SD_MESSAGE_ID,
    cc: [{ address: 'cc@example.com', name: 'Carbon Copy' }, { address: 'kk@example.org' }]
  },
  'service_desk_forwarded.eml': {
    from: { address: 'jake.g@adventuretime.ooo' },
    messageId: '<CADkmRc+rNGAGGbV2iE5p918UVy4UyJqVcXRO2=fdskbsf@mail.gmail.com>'
  },
  'service_desk_reply.eml': { inReplyTo: SD_MESSAGE_ID },
  'service_desk_encoding.eml': { subject: 'Testing encoding iso-8859-2 ťžščľžťťč' },
  'service_desk_reply_to_and_from.eml': {
    from: { address: 'finn@adventuretime.ooo' }, sender: { address: 'jake@adventuretime.ooo' }, replyTo: [{ address: 'marceline@adventuretime.ooo' }]
  },
  'service_desk_reply_to_sender_and_from.eml': {
    from: { address: 'finn@adventuretime.ooo' }, sender: { address: 'jake@adventuretime.ooo' }, replyTo: [{ address: 'hooman@adventuretime.ooo' }]
  },
  'service_desk_sender_and_from.eml': { from: { address: 'finn@adventuretime.ooo' }, sender: { address: 'jake@adventuretime.ooo' } },
  'valid_new_issue.eml': { subject: 'New Issue by email' },
  'valid_new_merge_request.eml': { subject: 'feature' },
  'valid_new_merge_request_no_subject.eml': { subject: '' },
  'no_content_type.eml': { attachments: [] },
  'attachment.eml': { attachments: [{ filename: 'bricks.png', contentType: 'image/png', isSignature: false }] }
}

t.test('corpus metadata', async t => {
  for (const [file, expected] of Object.entries(TABLE)) {
    t.match(await loadParsed(file), expected, file)
  }
})

t.test('attachments', async t => {
  const patches = (await loadParsed('merge_request_multiple_patches.eml')).attachments.map(a => a.filename)
  t.same(patches.sort(), [
    '0001-A-commit-from-a-patch.patch', '0002-This-does-not-apply-to-the-feature-branch.patch', 'really-not-a-patch.png'
  ])
  const single = (await loadParsed('valid_merge_request_with_patch.eml')).attachments
  t.equal(single.filter(a => a.filename?.endsWith('.patch')).length, 1, 'one .patch')
  t.ok(single.some(a => a.contentType === 'image/png'), 'and a PNG')

  for (const file of ['valid_reply_signed_smime.eml', 'valid_reply_signed_smime_mixed_protocol_prefix.eml']) {
    const atts = (await loadParsed(file)).attachments
    t.match(atts.find(a => a.filename === 'gitlab_logo.png'), { isSignature: false, contentType: 'image/png' }, `${file}: logo is a file`)
    t.match(atts.find(a => a.filename === 'smime.p7s'), { isSignature: true }, `${file}: smime.p7s is a signature`)
    const png = atts.find(a => a.filename === 'gitlab_logo.png')
    t.equal(png?.content.subarray(1, 4).toString(), 'PNG', `${file}: content decoded`)
    t.equal(png?.size, png?.content.length)
  }
})
