/**
 * An events endpoint that answers 500 twice, then 200: each event is tried
 * three times with the same webhook-id and body (fresh timestamp and
 * signature each try), delivered once, and not sent again. The queue's
 * first retry delay is shortened from 30 s to 1 s for the test; the backoff
 * itself is pg-boss's.
 */
import t from 'tap'
import { startTestRuntime } from '../helpers/runtime.ts'
import { waitFor } from '../helpers/wait.ts'
import { countRows } from '../helpers/rows.ts'
import { eventOf, startEventsEndpoint } from './fixture.ts'

t.setTimeout(120_000)

t.test('500, 500, 200: delivered once, the same webhook-id on every try', async t => {
  const tries = new Map<string, number>()
  const endpoint = await startEventsEndpoint(t, req => {
    const id = req.headers['webhook-id'] as string
    const n = (tries.get(id) ?? 0) + 1
    tries.set(id, n)
    return n <= 2 ? { status: 500, body: 'not now' } : { status: 200 }
  })
  const rt = await startTestRuntime(t, { env: endpoint.env })
  await rt.ctx.boss.updateQueue('operator-event', { retryDelay: 1 })
  // nothing listens on port 9: the first sync fails, a second change
  const created = await rt.api('POST', '/api/v1/mailboxes', {
    name: 'flaky', provider: 'imap', imap: { host: '127.0.0.1', port: 9, tls: 'none', user: 'u', password: 'p', connectTimeoutSeconds: 2 }
  })
  t.equal(created.status, 201)

  await waitFor(async () => tries.size === 2 && [...tries.values()].every(n => n === 3), 'both events tried three times', 60_000)
  await new Promise(resolve => setTimeout(resolve, 6000)) // longer than the worker's polling interval
  t.same([...tries.values()], [3, 3], 'no try after the 200')
  for (const id of tries.keys()) {
    const attempts = endpoint.received.filter(r => r.headers['webhook-id'] === id)
    t.equal(attempts.length, 3, `${id}: three tries`)
    t.ok(attempts.every(r => r.authError === undefined), `${id}: every try signed`)
    t.equal(new Set(attempts.map(r => r.body.toString())).size, 1, `${id}: the same body, its timestamp included`)
    t.ok(attempts[1].at - attempts[0].at >= 900, `${id}: the retry waited (${attempts[1].at - attempts[0].at} ms)`)
  }
  t.same(endpoint.received.filter((r, i, all) => all.findIndex(o => o.headers['webhook-id'] === r.headers['webhook-id']) === i).map(r => {
    const e = eventOf(r)
    return e.type === 'mailbox.health_changed' ? [e.data.from, e.data.to] : []
  }), [[null, 'pending'], ['pending', 'failing']])
  t.equal(await countRows(rt, `SELECT count(*)::int AS n FROM mailslot_boss.job WHERE name = 'operator-event' AND state = 'completed' AND retry_count = 2`), 2,
    'both jobs completed on their third try')
  t.match((await rt.api('GET', '/metrics')).text, /mailslot_operator_events_total\{result="failed"\} 4/)
  t.match(rt.logs(), /operator event not delivered: tried again later/)
  t.match(rt.logs(), /the events endpoint at http:\/\/127\.0\.0\.1:\d+\/mailslot-events answered 500: not now/)
})
