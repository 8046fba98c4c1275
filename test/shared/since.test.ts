import t from 'tap'
import { parseSince } from '../../src/shared/since.ts'

const now = new Date('2026-06-10T12:00:00Z')

t.test('durations back from now', async t => {
  t.same(parseSince('30m', now), new Date('2026-06-10T11:30:00Z'))
  t.same(parseSince('24h', now), new Date('2026-06-09T12:00:00Z'))
  t.same(parseSince('7d', now), new Date('2026-06-03T12:00:00Z'))
  t.same(parseSince('2w', now), new Date('2026-05-27T12:00:00Z'))
})

t.test('ISO 8601 times', async t => {
  t.same(parseSince('2026-05-01', now), new Date('2026-05-01T00:00:00Z'))
  t.same(parseSince('2026-05-01T08:00:00Z', now), new Date('2026-05-01T08:00:00Z'))
  t.same(parseSince('2026-05-01T10:00+02:00', now), new Date('2026-05-01T08:00:00Z'))
})

t.test('anything else is null', async t => {
  for (const bad of ['', 'yesterday', '7', '7 days', '1y', 'May 1 2026', '2026-13-45', '-1h']) t.equal(parseSince(bad, now), null, bad)
})
