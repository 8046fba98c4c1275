import t from 'tap'
import { WildcardError, addrSpec, findMailKey, keyCandidates, wildcardMatcher } from '../../src/routing/index.ts'
import type { ParsedEmail } from '../../src/parsing/index.ts'

const KEY = '59d8df8370b7e95c5a49fbf86aeb2c93'

t.test('wildcard validation', async t => {
  const bad: Array<[string, RegExp]> = [
    ['incoming@example.com', /exactly one %\{key\}, found 0/],
    ['incoming+%{key}-%{key}@example.com', /exactly one %\{key\}, found 2/],
    ['incoming+%{key}', /needs a domain/],
    ['incoming+%{key}@', /needs a domain/],
    ['incoming@%{key}.example.com', /in the local part/],
    ['Incoming <incoming+%{key}@example.com>', /bare address/],
    ['', /exactly one/]
  ]
  for (const [wildcard, message] of bad) {
    t.throws(() => wildcardMatcher(wildcard), { name: 'WildcardError', message }, wildcard)
  }
  t.doesNotThrow(() => wildcardMatcher('%{key}@example.com'), 'the key may be the whole local part')
  t.throws(() => wildcardMatcher('incoming@example.com'), { name: 'WildcardError' }, 'a bad wildcard is refused again: failures are not kept')
})

t.test('a wildcard is compiled once: the same matcher for the same address, another for another', async t => {
  const first = wildcardMatcher('incoming+%{key}@once.example.com')
  t.equal(wildcardMatcher('incoming+%{key}@once.example.com'), first)
  t.not(wildcardMatcher('incoming+%{key}@other.example.com'), first)
  t.equal(first('incoming+k@once.example.com'), 'k', 'and it still matches after being reused')
})

t.test('wildcard matching', async t => {
  const match = wildcardMatcher('incoming+%{key}@gitlab.example.com')
  const cases: Array<[string, string | null]> = [
    ['incoming+abc@gitlab.example.com', 'abc'],
    ['<incoming+abc@gitlab.example.com>', 'abc'],
    ['Jake <incoming+abc@gitlab.example.com>', 'abc'],
    ['  incoming+abc@gitlab.example.com  ', 'abc'],
    ['INCOMING+AbC@GitLab.Example.COM', 'AbC'], // case-insensitive, key case kept
    ['incoming+gitlabhq/gitlabhq+auth_token@gitlab.example.com', 'gitlabhq/gitlabhq+auth_token'],
    ['incoming+@gitlab.example.com', null], // the key must not be empty
    ['incoming@gitlab.example.com', null],
    ['xincoming+abc@gitlab.example.com', null], // anchored at the start
    ['incoming+abc@gitlab.example.com.evil.org', null], // and at the end
    ['incoming+abc@gitlabXexample.com', null] // dots are literal
  ]
  for (const [address, key] of cases) t.equal(match(address), key, address)
  t.equal(match.wildcard, 'incoming+%{key}@gitlab.example.com')
})

t.test('addrSpec', async t => {
  t.equal(addrSpec('Name <a@b.c>'), 'a@b.c')
  t.equal(addrSpec('<a@b.c>'), 'a@b.c')
  t.equal(addrSpec(' a@b.c '), 'a@b.c')
})

function mail (overrides: Partial<ParsedEmail> & { delivery?: Partial<ParsedEmail['delivery']> } = {}): ParsedEmail {
  const { delivery, ...rest } = overrides
  return {
    messageId: '<m@x>',
    messageIdSynthesized: false,
    inReplyTo: null,
    references: [],
    from: null,
    replyTo: [],
    sender: null,
    to: [],
    cc: [],
    subject: '',
    date: null,
    delivery: {
      deliveredTo: [], xDeliveredTo: [], envelopeTo: [], xEnvelopeTo: [], receivedFor: [], xOriginalTo: [], xForwardedTo: [], ...delivery
    },
    autoSubmitted: null,
    xAutoreply: null,
    precedence: null,
    headers: [],
    text: null,
    html: null,
    attachments: [],
    checksum: '0',
    sizes: { raw: 0, text: 0, html: 0, attachments: 0 },
    ...rest
  }
}

const addr = (address: string) => ({ address, name: '' })
const W = 'incoming+%{key}@example.com'

t.test('header order: each header wins over every later one', async t => {
  // One key per header, each different; removing the winner must expose the next.
  const all = mail({
    to: [addr('someone@else.org'), addr('incoming+k-to@example.com')],
    references: ['<issue_1@gitlab>', `<reply-${KEY}@gitlab>`],
    cc: [addr('incoming+k-cc@example.com')],
    delivery: {
      deliveredTo: ['incoming+k-delivered-to@example.com'],
      xDeliveredTo: ['incoming+k-x-delivered-to@example.com'],
      envelopeTo: ['<incoming+k-envelope-to@example.com>'],
      xEnvelopeTo: ['incoming+k-x-envelope-to@example.com'],
      receivedFor: ['incoming+k-received@example.com'],
      xOriginalTo: ['incoming+k-x-original-to@example.com'],
      xForwardedTo: ['incoming+k-x-forwarded-to@example.com']
    }
  })
  const order = ['to', 'references', 'delivered-to', 'x-delivered-to', 'envelope-to', 'x-envelope-to', 'received', 'x-original-to', 'x-forwarded-to', 'cc']
  t.same([...new Set(keyCandidates(all).map(c => c.header))], order, 'candidates come in MANIFEST order')
  const strip: Record<string, (m: ParsedEmail) => void> = {
    to: m => { m.to = [] },
    references: m => { m.references = [] },
    'delivered-to': m => { m.delivery.deliveredTo = [] },
    'x-delivered-to': m => { m.delivery.xDeliveredTo = [] },
    'envelope-to': m => { m.delivery.envelopeTo = [] },
    'x-envelope-to': m => { m.delivery.xEnvelopeTo = [] },
    received: m => { m.delivery.receivedFor = [] },
    'x-original-to': m => { m.delivery.xOriginalTo = [] },
    'x-forwarded-to': m => { m.delivery.xForwardedTo = [] },
    cc: m => { m.cc = [] }
  }
  const m = structuredClone(all)
  for (const header of order) {
    const found = findMailKey(m, W, { referencesHost: 'gitlab' })
    t.equal(found?.header, header, `${header} wins`)
    t.equal(found?.key, header === 'references' ? KEY : `k-${header}`)
    strip[header](m)
  }
  t.equal(findMailKey(m, W), null, 'nothing left')
})

t.test('References: reply-<key>@<host>', async t => {
  const refs = (...ids: string[]) => mail({ references: ids })
  t.match(findMailKey(refs(`<reply-${KEY}@localhost>`), W, { referencesHost: 'localhost' }), { key: KEY, header: 'references' })
  t.match(findMailKey(refs(`<reply-${KEY}@LOCALHOST>`), W, { referencesHost: 'localhost' }), { key: KEY }, 'host compares case-insensitively')
  t.equal(findMailKey(refs(`<reply-${KEY}@other.host>`), W, { referencesHost: 'localhost' }), null, 'another host is not ours')
  t.match(findMailKey(refs('<reply-anything@localhost>'), W, { referencesHost: 'localhost' }), { key: 'anything' }, 'with a host, GitLab takes any key')
  t.match(findMailKey(refs(`<reply-${KEY}@any.host>`), W), { key: KEY }, 'without a host, any host …')
  t.equal(findMailKey(refs('<reply-notakey@any.host>'), W), null, '… but only for reply-key shapes')
  t.equal(findMailKey(refs(`<reply+${KEY}@localhost>`), W, { referencesHost: 'localhost' }), null, 'reply+ is not the References form')
})

t.test('no wildcard: only References can yield a key', async t => {
  const m = mail({ to: [addr(`reply+${KEY}@example.com`)], references: [`<reply-${KEY}@localhost>`] })
  t.match(findMailKey(m, null, { referencesHost: 'localhost' }), { key: KEY, header: 'references' })
  t.equal(findMailKey(mail({ to: [addr(`reply+${KEY}@example.com`)] }), null), null)
})

t.test('a string wildcard is validated', async t => {
  t.throws(() => findMailKey(mail(), 'no-placeholder@example.com'), { name: 'WildcardError' })
  t.ok(new WildcardError('x') instanceof Error)
})
