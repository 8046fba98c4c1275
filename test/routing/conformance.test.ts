// Every GitLab fixture email, routed under the configuration GitLab's own
// specs use for it. Expectations are transcribed from
// test/fixtures/gitlab-emails/MANIFEST.md (columns "address / header carrying
// the key", "mail key GitLab extracts" and "handler / outcome"), not taken
// from this code's output.
import t from 'tap'
import { route } from '../../src/routing/index.ts'
import type { HandlerName, RejectReason, RouteOptions } from '../../src/routing/index.ts'
import type { KeyHeader } from '../../src/parsing/index.ts'
import {
  GITLAB_HOST, NOTE_ON_ISSUABLE_REWRITE, REPLY_KEY, UNSUBSCRIBE_REWRITE, WILDCARDS as W,
  corpusFiles, loadParsed
} from '../helpers/corpus.ts'

type Expect =
  | { handler: HandlerName, key: string, header: KeyHeader, form?: string }
  | { reject: RejectReason }

interface Scenario {
  wildcard: string | null
  receiver?: RouteOptions['receiver']
  rewrite?: Array<[string, string]>
  expect: Expect
}

const NEW_ISSUE = 'gitlabhq-gitlabhq-42-auth_token-issue'
const NEW_MR = 'gitlabhq-gitlabhq-42-auth_token-merge-request'
const NOTE_ON_ISSUE = 'gitlabhq-gitlabhq-42-auth_token-issue-7'
const LEGACY_ISSUE = 'gitlabhq/gitlabhq+auth_token'
const SERVICE_DESK = 'email-test-42-issue-'
const SLUG_AND_PROJECT_KEY = 'email-test-mykey'

const note = (header: KeyHeader, key = REPLY_KEY): Expect => ({ handler: 'create_note', key, header })
const noKey: Expect = { reject: 'no_key' }
const auto: Expect = { reject: 'auto_generated' }
const issue = (key: string, header: KeyHeader, form: string): Expect => ({ handler: 'create_issue', key, header, form })
const mr = (key: string, form = 'project_id'): Expect => ({ handler: 'create_merge_request', key, header: 'to', form })
const sd = (header: KeyHeader, key = SERVICE_DESK, form = 'project_id'): Expect => ({ handler: 'service_desk', key, header, form })
const alias = (header: KeyHeader): Expect => sd(header, SLUG_AND_PROJECT_KEY, 'service_desk_key')

const CNH = (expect: Expect): Scenario => ({ wildcard: W.reply, expect })
const INC = (expect: Expect): Scenario => ({ wildcard: W.incoming, expect })
const RS = (expect: Expect): Scenario => ({ wildcard: W.receiverSpec, expect })
const SDR = (expect: Expect): Scenario => ({ wildcard: W.serviceDeskAlias, receiver: 'service_desk', expect })

const TABLE: Record<string, Scenario[]> = {
  // To is the literal placeholder <TO>: no key anywhere.
  'attachment.eml': [CNH(noKey), RS(noKey)],
  // X-Autoreply: yes is rejected before any key lookup.
  'auto_reply.eml': [RS(auto), CNH(auto)],
  'bullet_list_reply.eml': [CNH(note('to'))],
  'bullet_list_reply_quoted_printable.eml': [CNH(note('to'))],
  'commands_in_reply.eml': [
    CNH(note('to')),
    { wildcard: W.incoming, rewrite: [NOTE_ON_ISSUABLE_REWRITE], expect: { handler: 'create_note_on_issuable', key: NOTE_ON_ISSUE, header: 'to' } },
    // To does not fit RS's address; References holds reply-59d8…@localhost.
    RS(note('references'))
  ],
  'commands_only_reply.eml': [CNH(note('to'))],
  // "none under the spec configs" (RP only); under CNH's address the To key is cd48….
  'dutch.eml': [RS(noKey), CNH(note('to', 'cd480e301683c9902891f15968bf07a5'))],
  'envelope_to_header.eml': [RS(issue(LEGACY_ISSUE, 'envelope-to', 'legacy'))],
  'envelope_to_header_with_angle_brackets.eml': [RS(issue(LEGACY_ISSUE, 'envelope-to', 'legacy'))],
  'forwarded_new_issue.eml': [RS(issue(LEGACY_ISSUE, 'delivered-to', 'legacy'))],
  // To `mail+e1c7…@arpitjalan.com` shares its line with Accept-Language.
  'html_empty_link.eml': [
    RS(noKey),
    { wildcard: 'mail+%{key}@arpitjalan.com', expect: note('to', 'e1c7f2a380e33840aeb654f075490bad') }
  ],
  'html_only.eml': [RS(noKey), CNH(noKey)],
  'html_table_and_blockquote.eml': [RS(noKey)],
  'ios_default.eml': [RS(noKey), CNH(noKey)],
  // MANIFEST: References is not in the reply-KEY@host form, so the key comes from Received.
  'key_in_headers_reply.eml': [CNH(note('received'))],
  'merge_request_multiple_patches.eml': [INC(mr(NEW_MR))],
  'merge_request_with_conflicting_patch.eml': [INC(mr(NEW_MR))],
  'merge_request_with_patch_and_target_branch.eml': [INC(mr(NEW_MR))],
  'missing_delivered_to_header.eml': [RS(issue(LEGACY_ISSUE, 'received', 'legacy'))],
  'no_content_type.eml': [
    RS(noKey),
    // MANIFEST: a Service Desk key under `gitlab+%{key}@qyber.black`.
    {
      wildcard: 'gitlab+%{key}@qyber.black',
      expect: sd('to', 'gitlab-instance-administrators-9a72b788-code-hello-world-php-2-issue-')
    }
  ],
  'no_content_with_quote.eml': [CNH(note('to'))],
  'on_wrote.eml': [RS(noKey), CNH(note('to', '8305e3604ae4d1485dc12b6af6a8446c'))],
  'outlook_html.eml': [
    RS(noKey),
    { wildcard: 'mail+%{key}@arpitjalan.com', expect: note('to', 'e1c7f2a380e33840aeb654f075490bad') }
  ],
  'paragraphs.eml': [CNH(note('to'))],
  'plaintext_only.eml': [CNH(noKey), RS(noKey)],
  // CNH runs these with no incoming address at all (no sub-addressing).
  'reply_without_subaddressing_and_key_inside_references.eml': [{ wildcard: null, expect: note('references') }, CNH(note('references'))],
  'reply_without_subaddressing_and_key_inside_references_with_a_comma.eml': [{ wildcard: null, expect: note('references') }, CNH(note('references'))],
  'service_desk.eml': [INC(sd('to'))],
  'service_desk_all_quoted.eml': [INC(sd('to'))],
  'service_desk_custom_address.eml': [SDR(alias('to'))],
  'service_desk_custom_address_envelope_to.eml': [SDR(alias('envelope-to'))],
  'service_desk_custom_address_no_key.eml': [SDR(sd('to'))],
  'service_desk_custom_address_reply.eml': [SDR(alias('delivered-to'))],
  'service_desk_custom_address_x_envelope_to.eml': [SDR(alias('x-envelope-to'))],
  // SDH "when using incoming_email address" support+%{key}@example.com; Auto-Submitted: no passes.
  'service_desk_custom_email_address_verification.eml': [
    { wildcard: W.serviceDeskAlias, expect: sd('delivered-to') },
    SDR(sd('delivered-to'))
  ],
  'service_desk_encoding.eml': [INC(sd('to'))],
  'service_desk_forwarded.eml': [INC(sd('delivered-to'))],
  'service_desk_forwarded_new_issue.eml': [INC(sd('delivered-to'))],
  'service_desk_legacy.eml': [INC(sd('to', 'email/test', 'legacy'))],
  'service_desk_reference_headers.eml': [SDR(noKey), RS(noKey)],
  'service_desk_reply.eml': [INC(sd('to'))],
  'service_desk_reply_illegal_utf8.eml': [INC(sd('to'))],
  'service_desk_reply_to_and_from.eml': [INC(sd('delivered-to'))],
  'service_desk_reply_to_sender_and_from.eml': [INC(sd('delivered-to'))],
  'service_desk_sender_and_from.eml': [INC(sd('delivered-to'))],
  'signature_delimiter_reply.eml': [CNH(note('to'))],
  'update_commands_only.eml': [
    CNH(note('to')),
    { wildcard: W.incoming, rewrite: [NOTE_ON_ISSUABLE_REWRITE], expect: { handler: 'create_note_on_issuable', key: NOTE_ON_ISSUE, header: 'to' } }
  ],
  'update_commands_only_reply.eml': [CNH(note('to'))],
  // MANIFEST (inference): UnknownIncomingEmail, i.e. no key.
  'valid_incoming.eml': [RS(noKey), INC(noKey)],
  'valid_merge_request_with_patch.eml': [INC(mr(NEW_MR))],
  'valid_new_issue.eml': [INC(issue(NEW_ISSUE, 'to', 'project_id'))],
  'valid_new_issue_empty.eml': [INC(issue(NEW_ISSUE, 'to', 'project_id'))],
  'valid_new_issue_with_only_quotes.eml': [INC(issue(NEW_ISSUE, 'to', 'project_id'))],
  'valid_new_issue_with_quote.eml': [INC(issue(NEW_ISSUE, 'to', 'project_id'))],
  'valid_new_merge_request.eml': [INC(mr(NEW_MR))],
  'valid_new_merge_request_legacy.eml': [INC(mr('gitlabhq/gitlabhq+merge-request+auth_token', 'legacy'))],
  'valid_new_merge_request_no_description.eml': [INC(mr(NEW_MR))],
  'valid_new_merge_request_no_subject.eml': [INC(mr(NEW_MR))],
  'valid_note_on_issuable.eml': [INC({ handler: 'create_note_on_issuable', key: NOTE_ON_ISSUE, header: 'to' })],
  'valid_reply.eml': [
    CNH(note('to')),
    { wildcard: W.reply, rewrite: [UNSUBSCRIBE_REWRITE], expect: { handler: 'unsubscribe', key: `${REPLY_KEY}-unsubscribe`, header: 'to', form: 'new' } }
  ],
  // References host 169.254.169.254 is not GitLab's host; the To key needs the dlouzan.dummy address.
  'valid_reply_signed_smime.eml': [
    RS(noKey),
    { wildcard: 'dlouzan.dummy+%{key}@gmail.com', expect: note('to', 'c034670b1623e617e15a3df64223d363') }
  ],
  'valid_reply_signed_smime_mixed_protocol_prefix.eml': [
    RS(noKey),
    { wildcard: 'dlouzan.dummy+%{key}@gmail.com', expect: note('to', 'c034670b1623e617e15a3df64223d363') }
  ],
  'valid_reply_with_quick_actions.eml': [CNH(note('to'))],
  // To does not fit RS's wildcard; the quoted, comma-joined References still yields the key.
  'valid_reply_with_references_in_comma.eml': [RS(note('references'))],
  // Routing picks the handler; the bad token is the handler's UserNotFoundError.
  'wrong_authentication_token.eml': [INC(issue('gitlabhq/gitlabhq+bad_token', 'to', 'legacy'))],
  'wrong_issue_incoming_email_token.eml': [INC(issue('gitlabhq-gitlabhq-42-bad_token-issue', 'to', 'project_id'))],
  'wrong_merge_request_incoming_email_token.eml': [INC(mr('gitlabhq-gitlabhq-42-bad_token-merge-request'))],
  'x_envelope_to_header.eml': [RS(issue(LEGACY_ISSUE, 'x-envelope-to', 'legacy'))]
}

t.test('the table covers every corpus email', async t => {
  t.same(Object.keys(TABLE).sort(), corpusFiles())
  t.equal(corpusFiles().length, 68)
})

for (const [file, scenarios] of Object.entries(TABLE)) {
  t.test(file, async t => {
    for (const s of scenarios) {
      const parsed = await loadParsed(file, { rewrite: s.rewrite })
      const result = route(parsed, { wildcard: s.wildcard, receiver: s.receiver, referencesHost: GITLAB_HOST })
      const label = `${s.receiver ?? 'incoming'} ${s.wildcard ?? '(no wildcard)'}${s.rewrite ? ' (rewritten)' : ''}`
      if ('reject' in s.expect) {
        t.match(result, { outcome: 'reject', reason: s.expect.reject }, label)
        continue
      }
      const { handler, key, header, form } = s.expect
      t.match(result, { outcome: 'handle', handler, key, header, match: { handler } }, label)
      if (form !== undefined && result.outcome === 'handle') t.match(result.match, { form }, `${label}: form`)
    }
  })
}
