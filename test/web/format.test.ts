// How pages show times and states.
import t from 'tap'
import { ago, exact, tone, words } from '../../src/web/format.ts'

const now = Date.parse('2026-12-07T12:00:00Z')
const at = (secondsAgo: number): string => new Date(now - secondsAgo * 1000).toISOString()

t.test('relative times', async t => {
  t.equal(ago(null, now), '')
  t.equal(ago(at(5), now), 'just now')
  t.equal(ago(at(-5), now), 'in under a minute')
  t.equal(ago(at(180), now), '3 min ago')
  t.equal(ago(at(3600), now), '1 hour ago')
  t.equal(ago(at(7300), now), '2 hours ago')
  t.equal(ago(at(-2 * 86400 - 30), now), 'in 2 days')
})

t.test('exact times and state words', async t => {
  t.equal(exact('2026-12-07T12:00:05.123Z'), '2026-12-07 12:00:05 UTC')
  t.equal(exact(null), '')
  t.equal(words('reauth_required'), 'reauth required')
  t.equal(words(null), '')
  t.same(['ok', 'failing', 'rejected', 'pending', 'unknown'].map(s => tone(s)), ['good', 'bad', 'warn', 'idle', 'idle'])
})
