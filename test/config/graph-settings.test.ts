import t from 'tap'
import { loadSettings } from '../../src/config/settings.ts'

t.test('Graph and public-route settings: defaults', async t => {
  const s = loadSettings({})
  t.equal(s.publicRateLimit, 6000)
  t.equal(s.graphSubscriptionMinutes, 4200)
  t.equal(s.graphResyncSeconds, 900)
})

t.test('Graph and public-route settings: values and bad values', async t => {
  const s = loadSettings({ MAILSLOT_PUBLIC_RATE_LIMIT: '0', MAILSLOT_GRAPH_SUBSCRIPTION_MINUTES: '0.25', MAILSLOT_GRAPH_RESYNC_SECONDS: '300' })
  t.equal(s.publicRateLimit, 0, '0 turns the limit off')
  t.equal(s.graphSubscriptionMinutes, 0.25, 'fractions of a minute (tests)')
  t.equal(s.graphResyncSeconds, 300)
  for (const [name, value] of [['MAILSLOT_GRAPH_SUBSCRIPTION_MINUTES', '0'], ['MAILSLOT_GRAPH_SUBSCRIPTION_MINUTES', '10081'], ['MAILSLOT_GRAPH_SUBSCRIPTION_MINUTES', 'week'],
    ['MAILSLOT_PUBLIC_RATE_LIMIT', '-1'], ['MAILSLOT_GRAPH_RESYNC_SECONDS', '1']]) {
    t.throws(() => loadSettings({ [name]: value }), { name: 'ConfigError', variable: name }, `${name}=${value} is refused`)
  }
})
