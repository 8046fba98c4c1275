import t from 'tap'
import { isReplyKey, matchKey, matchServiceDeskAliasKey, parseReplyKey } from '../../src/routing/index.ts'

const LEGACY = '59d8df8370b7e95c5a49fbf86aeb2c93'
const PARTITIONED = '1a-abcdefghijklmnopqrstuvwxy'
const PARTITIONED_NS = `${PARTITIONED}-7f`

t.test('reply keys', async t => {
  const cases: Array<[string, ReturnType<typeof parseReplyKey>]> = [
    [LEGACY, { format: 'legacy', value: LEGACY }],
    [PARTITIONED, { format: 'partitioned', value: PARTITIONED, partition: '1a', token: 'abcdefghijklmnopqrstuvwxy', namespaceId: null }],
    [PARTITIONED_NS, { format: 'partitioned', value: PARTITIONED_NS, partition: '1a', token: 'abcdefghijklmnopqrstuvwxy', namespaceId: '7f' }],
    [LEGACY.toUpperCase(), null], // GitLab's pattern is lower-case hex
    [LEGACY.slice(1), null], // 31 hex
    [`${LEGACY}0`, null], // 33 hex
    ['12345-abcdefghijklmnopqrstuvwxy', null], // partition longer than 4
    ['1a-abcdefghijklmnopqrstuvwx', null], // 24 chars
    [`${PARTITIONED}-12345678901234`, null] // namespace longer than 13
  ]
  for (const [key, expected] of cases) {
    t.same(parseReplyKey(key), expected, key)
    t.equal(isReplyKey(key), expected !== null, `isReplyKey ${key}`)
  }
})

// [key, expected match (partial) or null]
const TABLE: Array<[string, object | null]> = [
  // create_note
  [LEGACY, { handler: 'create_note', replyKey: { format: 'legacy', value: LEGACY } }],
  [PARTITIONED_NS, { handler: 'create_note', replyKey: { format: 'partitioned', namespaceId: '7f' } }],
  // create_issue, new and legacy forms
  ['gitlab-org-gitlab-ce-20-Author_Token-issue', { handler: 'create_issue', form: 'project_id', projectSlug: 'gitlab-org-gitlab-ce', projectId: 20, token: 'Author_Token' }],
  ['gitlab-org/gitlab-ce+Author_Token', { handler: 'create_issue', form: 'legacy', projectPath: 'gitlab-org/gitlab-ce', token: 'Author_Token' }],
  // create_note_on_issuable
  ['gitlab-org-gitlab-ce-20-Author_Token-issue-34', { handler: 'create_note_on_issuable', projectSlug: 'gitlab-org-gitlab-ce', projectId: 20, token: 'Author_Token', iid: 34 }],
  // unsubscribe, new and legacy; not taken by the legacy create_issue form
  [`${LEGACY}-unsubscribe`, { handler: 'unsubscribe', form: 'new', replyKey: { value: LEGACY } }],
  [`${LEGACY}+unsubscribe`, { handler: 'unsubscribe', form: 'legacy', replyKey: { value: LEGACY } }],
  [`${PARTITIONED_NS}-unsubscribe`, { handler: 'unsubscribe', form: 'new', replyKey: { format: 'partitioned', namespaceId: '7f' } }],
  // GitLab subtlety, kept: without a namespace id, `unsubscribe` itself reads as
  // one (11 base36 chars), and create_note is tried first.
  [`${PARTITIONED}-unsubscribe`, { handler: 'create_note', replyKey: { namespaceId: 'unsubscribe' } }],
  // create_merge_request; the legacy form is not a create_issue key (its token has a '+')
  ['gitlab-org-gitlab-ce-20-Author_Token-merge-request', { handler: 'create_merge_request', form: 'project_id', projectId: 20, token: 'Author_Token' }],
  ['gitlab-org/gitlab-ce+merge-request+Author_Token', { handler: 'create_merge_request', form: 'legacy', projectPath: 'gitlab-org/gitlab-ce', token: 'Author_Token' }],
  // service_desk
  ['gitlab-org-gitlab-ce-20-issue-', { handler: 'service_desk', form: 'project_id', projectSlug: 'gitlab-org-gitlab-ce', projectId: 20 }],
  ['h5bp/html5-boilerplate', { handler: 'service_desk', form: 'legacy', projectPath: 'h5bp/html5-boilerplate' }],
  // the slug is greedy: the last `-<digits>-` names the project
  ['a-1-b-2-tok-issue', { handler: 'create_issue', projectSlug: 'a-1-b', projectId: 2, token: 'tok' }],
  // negatives
  ['h5bp-html5-boilerplate-invalid', null], // SDH: "doesn't handle invalid email key"
  ['gitlab-org-gitlab-mykey', null], // a Service Desk project key needs the alias address
  // new forms never contain '/': this is a bare project path, i.e. legacy Service Desk
  ['group/project-20-tok-issue', { handler: 'service_desk', form: 'legacy', projectPath: 'group/project-20-tok-issue' }],
  [`${LEGACY}-unsubscribe-now`, null],
  ['some-project-20-tok-issue-x', null],
  ['project-99999999999999999999-tok-issue', null], // id past 2^53 names no project
  ['', null],
  ['plainword', null]
]

t.test('matchKey picks the handler in GitLab order', async t => {
  for (const [key, expected] of TABLE) {
    const match = matchKey(key)
    if (expected === null) t.equal(match, null, `${JSON.stringify(key)} matches nothing`)
    else t.match(match, expected, key)
  }
})

t.test('matchServiceDeskAliasKey', async t => {
  const cases: Array<[string, object | null]> = [
    ['email-test-42-issue-', { handler: 'service_desk', form: 'project_id', projectSlug: 'email-test', projectId: 42 }],
    ['email/test', { handler: 'service_desk', form: 'legacy', projectPath: 'email/test' }],
    ['gitlab-org-gitlab-mykey', { handler: 'service_desk', form: 'service_desk_key', slugAndKey: 'gitlab-org-gitlab-mykey', projectSlug: 'gitlab-org-gitlab', serviceDeskKey: 'mykey' }],
    ['gitlab-org-gitlab-my_key_1', { form: 'service_desk_key', serviceDeskKey: 'my_key_1' }],
    [LEGACY, null], // a reply key names no project
    ['nodash', null],
    ['slug-UPPER', null] // project keys are [a-z0-9_]
  ]
  for (const [key, expected] of cases) {
    const match = matchServiceDeskAliasKey(key)
    if (expected === null) t.equal(match, null, `${key} matches nothing`)
    else t.match(match, expected, key)
  }
})

t.test('absurdly long keys match nothing (the patterns backtrack)', async t => {
  const long = `${'a-1-'.repeat(300)}tok-issue`
  t.equal(matchKey(long), null)
  t.equal(matchServiceDeskAliasKey(`${'x'.repeat(1200)}-key`), null)
  t.equal(parseReplyKey('a'.repeat(1001)), null)
  t.match(matchKey(`${'a'.repeat(900)}-1-tok-issue`), { handler: 'create_issue' }, 'long but plausible keys still match')
})
