import t from 'tap'
import { LiteralError, readRubyLiteral } from '../../../src/cli/import/ruby-literal.ts'

const read = (text: string): unknown => readRubyLiteral(text, 0).value

t.test('Ruby literals gitlab.rb uses, read without evaluating', async t => {
  t.equal(read(`'it\\'s'`), "it's")
  t.equal(read('"a\\tb\\"c"'), 'a\tb"c')
  t.equal(read('1_000'), 1000)
  t.equal(read('nil'), null)
  t.equal(read('false'), false)
  t.equal(read(':imap'), 'imap')
  t.same(read(`{ 'k' => 'v', n: 2, :s => [1, "x"], 'q': true, # comment\n 'h' => { 'a' => nil } }`),
    { k: 'v', n: 2, s: [1, 'x'], q: true, h: { a: null } })
})

t.test('anything that is code is refused, not run', async t => {
  for (const code of ['ENV[\'X\']', 'File.read("/etc/x")', '"a#{b}"', '{ \'k\' => v }', '\'open', '[1, 2']) {
    t.throws(() => read(code), LiteralError, code)
  }
})
