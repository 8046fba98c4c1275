// Body extraction over the corpus, where MANIFEST.md (column "expected
// effect") names the text GitLab keeps. Exact strings come from GitLab's
// reply_parser_spec / handler specs as quoted in the MANIFEST.
import t from 'tap'
import { issueDescription, replyBody } from '../../src/parsing/index.ts'
import { loadParsed } from '../helpers/corpus.ts'

type Check = { exact: string } | { includes: string[], excludes?: string[] }

const FOX = 'The quick brown fox jumps over the lazy dog.'

// Reply notes: quoted original and signature cut (GitLab's ReplyParser).
const REPLIES: Record<string, Check> = {
  'bullet_list_reply.eml': {
    exact: 'I looked at the proposal and would like the following changes:\n\n   -\n\n   Rename the first field on the form.\n   *\n\n   Add a short description below it.'
  },
  'bullet_list_reply_quoted_printable.eml': { includes: ['würde ich', 'ändern, dass sie kürzer ist', 'Eine weitere Anpassung.'] },
  'commands_in_reply.eml': { includes: ['Cool!', '/close', '/todo'], excludes: ['>', 'wrote:'] },
  'commands_only_reply.eml': { exact: '/close\n/unsubscribe' },
  'dutch.eml': { exact: 'Dit is een antwoord in het Nederlands.' },
  'html_empty_link.eml': { exact: 'no brackets!' },
  'html_only.eml': {
    includes: [
      '### This is a reply from standard GMail in Google Chrome.',
      "Here's some **bold** text, **strong** text and *italic* in Markdown.",
      "Here's a link http://example.com",
      "Here's an img ![Miro](http://img.png)",
      '<details>', '<summary>', 'One</summary>', 'Some details</details>', 'Two</summary>',
      'Test reply.\n\nFirst paragraph.\n\nSecond paragraph.'
    ]
  },
  'html_table_and_blockquote.eml': {
    exact: 'Company\tContact\tCountry\nAlfreds Futterkiste\tMaria Anders\tGermany\nCentro comercial Moctezuma\tFrancisco Chang\tMexico\n\n' +
      'Words can be like X-rays, if you use them properly—they’ll go through anything. You read and you’re pierced.'
  },
  'ios_default.eml': {
    exact: `### this is a reply from iOS default mail\n\n${Array(7).fill(FOX).join(' ')}\n\nHere's some **bold** markdown text.\n\nHere's a link http://example.com`
  },
  'key_in_headers_reply.eml': { includes: ['I could not disagree more.'], excludes: ['wrote:'] },
  'no_content_with_quote.eml': { exact: '' },
  'on_wrote.eml': { exact: "Sure, all you need to do is frobnicate the foobar and you'll be all set!" },
  'outlook_html.eml': { exact: 'Microsoft Outlook 2010' },
  'paragraphs.eml': {
    exact: "Is there any reason the *old* candy can't be kept in silos while the new candy\nis imported into *new* silos?\n\n" +
      'The thing about candy is it stays delicious for a long time -- we can just keep\nit there without worrying about it too much, imo.\n\n' +
      'Thanks for listening.'
  },
  'plaintext_only.eml': {
    exact: '### reply from default mail client in Windows 8.1 Metro\n\n\n' + Array(9).fill(FOX).join(' ') +
      '\n\n\nThis is a **bold** word in Markdown\n\n\nThis is a link http://example.com'
  },
  'reply_without_subaddressing_and_key_inside_references.eml': { includes: ['I could not disagree more.'] },
  'reply_without_subaddressing_and_key_inside_references_with_a_comma.eml': { includes: ['I could not disagree more.'] },
  'signature_delimiter_reply.eml': { exact: 'This is the actual reply body.' },
  'update_commands_only.eml': { exact: '/close' },
  'update_commands_only_reply.eml': { exact: '/close' },
  'valid_reply.eml': { includes: ['I could not disagree more.', 'Jake out'], excludes: ['eviltrout', 'wrote:', '>'] },
  'valid_reply_with_quick_actions.eml': { includes: ['Jake out', '/close\n/title test'], excludes: ['eviltrout'] },
  // Nothing but quotes: GitLab rejects such a reply as empty.
  'service_desk_all_quoted.eml': { exact: '' }
}

// New issues, merge requests, Service Desk tickets: the whole body, quotes kept.
const DESCRIPTIONS: Record<string, Check> = {
  'service_desk.eml': { exact: 'Service desk stuff!\n\n```\na = b\n```\n\n/label ~label1\n/assign @user1\n/close' },
  'service_desk_all_quoted.eml': { includes: ['> This is an empty quote'] },
  'service_desk_encoding.eml': { exact: 'Body of encoding iso-8859-2 test: ťžščľžťťč' },
  'service_desk_forwarded_new_issue.eml': {
    exact: 'Service desk stuff!\n\n---------- Forwarded message ---------\nFrom: Jake the Dog <jake@adventuretime.ooo>\nTo: <jake@adventuretime.ooo>\n\n\nforwarded content'
  },
  'service_desk_reply.eml': { exact: 'Service desk reply!\n\n/label ~label2' },
  'valid_new_issue.eml': { includes: ['reply by email'] },
  'valid_new_issue_empty.eml': { exact: '' },
  'valid_new_issue_with_only_quotes.eml': { includes: ['> This email has been forwarded without new content.'] },
  'valid_new_issue_with_quote.eml': {
    exact: 'The reply by email functionality should be extended to allow creating a new issue by email.\n' +
      'even when the email is forwarded to the project which may include lines that begin with ">"\n\n' +
      'there should be a quote below this line:\n\n> this is a quote'
  },
  'valid_new_merge_request.eml': { exact: 'Merge request description' },
  'valid_new_merge_request_no_description.eml': { exact: '' },
  // "forwardable" mode: the quoted line stays in the comment.
  'valid_note_on_issuable.eml': { includes: ['This should create a new comment on the issue.', '> This quoted content will be included in the comment.'] }
}

function check (t: Pick<typeof import('tap').t, 'equal' | 'ok' | 'notOk'>, actual: string, expected: Check): void {
  if ('exact' in expected) {
    t.equal(actual, expected.exact)
    return
  }
  for (const s of expected.includes) t.ok(actual.includes(s), `includes ${JSON.stringify(s)}`)
  for (const s of expected.excludes ?? []) t.notOk(actual.includes(s), `excludes ${JSON.stringify(s)}`)
}

t.test('replyBody', async t => {
  for (const [file, expected] of Object.entries(REPLIES)) {
    t.test(file, async t => check(t, replyBody(await loadParsed(file)), expected))
  }
})

t.test('issueDescription', async t => {
  for (const [file, expected] of Object.entries(DESCRIPTIONS)) {
    t.test(file, async t => check(t, issueDescription(await loadParsed(file)), expected))
  }
})

t.test('synthetic bodies', async t => {
  const reply = (text: string) => replyBody({ text, html: null })
  t.equal(reply('Thanks!\r\n\r\nOn Mon, Jan 1, 2024 at 9:00 AM, Bot <bot@x.example> wrote:\r\n> old\r\n'), 'Thanks!', 'CRLF bodies')
  t.equal(reply('Fine.  \t\nSecond line \n'), 'Fine.\nSecond line', 'trailing blanks go')
  t.equal(reply('> only\n> quotes\n'), '', 'a reply of nothing but quotes is empty')
  t.equal(reply('Ok\n\nSent from my iPhone'), 'Ok', 'mobile signature')
  t.equal(replyBody({ text: null, html: null }), '')
  t.equal(replyBody({ text: '  \n', html: '<p>From <em>HTML</em></p>' }), 'From *HTML*', 'a blank text part falls back to HTML')

  // The libraries see the first 1000 lines / 16 KB only: a longer body must
  // neither lose its tail …
  const long = Array.from({ length: 1500 }, (_, i) => `line ${i}`).join('\n')
  t.equal(reply(long), long, 'a long reply without a quote is kept whole')
  const wide = Array.from({ length: 400 }, (_, i) => `${i} ${'word '.repeat(20)}`.trim()).join('\n')
  t.equal(reply(wide), wide, 'so is a reply over 16 KB')
  // … nor keep a quote that starts early.
  const header = 'On Mon, Jan 1, 2024 at 9:00 AM, Bot <bot@x.example> wrote:'
  const quotedLines = `New text\n\n${header}\n${Array.from({ length: 1500 }, (_, i) => `> q${i}`).join('\n')}`
  t.equal(reply(quotedLines), 'New text', 'a quote of many lines is cut')
  const quotedChars = `New text\n\n${header}\n${'> quoted words here\n'.repeat(5000)}`
  t.equal(reply(quotedChars), 'New text', 'a quote of many KB is cut')
  // Adversarial input for the libraries' quadratic patterns: must simply finish.
  const hostile = 'On ' + 'a '.repeat(120000)
  t.equal(reply(hostile), hostile.trim(), 'one huge line is kept as it is')
  const hostileLines = Array.from({ length: 2000 }, () => 'Op ' + 'a '.repeat(60)).join('\n')
  t.equal(reply(hostileLines).length, tidyLength(hostileLines), 'many would-be quote headers are kept')
})

function tidyLength (s: string): number {
  return s.replace(/[ \t]+$/gm, '').trim().length
}

t.test('HTML to text', async t => {
  const html = (h: string) => issueDescription({ text: null, html: h })
  const cases: Array<[string, string]> = [
    ['<p>a <a href="https://x.example/p">page</a> and <a href="https://x.example">https://x.example</a></p>', 'a page (https://x.example/p) and https://x.example'],
    ['<p><img alt="logo"> <img src="cid:1"></p>', 'logo ![](cid:1)'],
    ['<h1>Title</h1><p>text</p>', 'Title\n\ntext'],
    ['<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>', 'a\tb\n1\t2'],
    ['<blockquote><p>quoted</p></blockquote>', 'quoted'],
    ['<div>one</div><div><br></div><div><br></div><div>two</div>', 'one\n\ntwo']
  ]
  for (const [input, expected] of cases) t.equal(html(input), expected, input)
})
