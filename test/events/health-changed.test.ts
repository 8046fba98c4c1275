/**
 * mailbox.health_changed end to end: a real mailbox on a private Dovecot
 * goes pending → ok → failing (Dovecot stopped) → ok, and a local endpoint
 * that verifies every signature with `standardwebhooks` receives exactly
 * those changes, in order, and nothing for the polls that changed nothing.
 */
import t from 'tap'
import { startDovecot } from '../helpers/dovecot.ts'
import { startTestRuntime } from '../helpers/runtime.ts'
import { waitFor } from '../helpers/wait.ts'
import { view } from '../helpers/graph-fixture.ts'
import { startEventsEndpoint } from './fixture.ts'

t.setTimeout(180_000)

t.test('pending → ok → failing → ok: exactly those events, in order, signed, with a stable id per event', async t => {
  const imap = await startDovecot()
  t.teardown(async () => await imap.stop())
  const endpoint = await startEventsEndpoint(t)
  const rt = await startTestRuntime(t, { env: endpoint.env })
  const u = imap.addUser()
  const created = await rt.api('POST', '/api/v1/mailboxes', {
    name: 'support',
    provider: 'imap',
    imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password, connectTimeoutSeconds: 2 },
    address: 'incoming+%{key}@example.com'
  })
  t.equal(created.status, 201)
  const health = async (): Promise<string> => (await view(rt, 'support')).health.state
  /** A manual poll, waited for until its sync has been recorded: a success or one failure more. */
  const poll = async (): Promise<void> => {
    const before = (await view(rt, 'support')).health
    t.equal((await rt.api('POST', '/api/v1/mailboxes/support/poll')).status, 202)
    await waitFor(async () => {
      const now = (await view(rt, 'support')).health
      return now.lastSuccessAt !== before.lastSuccessAt || now.consecutiveFailures > before.consecutiveFailures
    }, 'the poll recorded', 20_000)
  }

  await waitFor(async () => await health() === 'ok', 'first sync ok')
  await waitFor(async () => endpoint.events().length === 2, 'two events')
  await poll() // ok → ok: nothing to tell

  await imap.halt()
  await poll()
  t.equal(await health(), 'failing')
  await imap.resume()
  await poll()
  t.equal(await health(), 'ok')
  await waitFor(async () => endpoint.events().length >= 4, 'four events')
  await poll() // ok → ok again
  await new Promise(resolve => setTimeout(resolve, 1500))

  const events = endpoint.events()
  t.same(events.map(e => [e.type, e.data.mailbox, 'from' in e.data ? e.data.from : undefined, 'to' in e.data ? e.data.to : undefined]), [
    ['mailbox.health_changed', 'support', null, 'pending'],
    ['mailbox.health_changed', 'support', 'pending', 'ok'],
    ['mailbox.health_changed', 'support', 'ok', 'failing'],
    ['mailbox.health_changed', 'support', 'failing', 'ok']
  ], 'exactly the changes, in order')
  t.same(events.map(e => Object.keys(e).sort()), Array(4).fill(['data', 'timestamp', 'type']), 'body {type, timestamp, data}')
  t.same(events.map(e => Object.keys(e.data).sort()), Array(4).fill(['error', 'from', 'mailbox', 'to']), 'data {mailbox, from, to, error}')
  t.same(events.map(e => 'error' in e.data && e.data.error !== null), [false, false, true, false], 'an error with the failure only')
  t.match(events[2].data, { error: /ECONNREFUSED|connect|closed/i }, 'the failure says why')
  const stamps = events.map(e => Date.parse(e.timestamp))
  t.ok(stamps.every((s, i) => Number.isFinite(s) && (i === 0 || s >= stamps[i - 1])), 'ISO timestamps, in order')

  t.equal(endpoint.received.length, 4, 'nothing else sent')
  t.ok(endpoint.received.every(r => r.authError === undefined), 'every signature verified by standardwebhooks')
  t.ok(endpoint.received.every(r => r.path === '/mailslot-events' && r.headers['content-type'] === 'application/json'), 'POSTed JSON to the URL')
  const ids = endpoint.received.map(r => r.headers['webhook-id'] as string)
  t.ok(ids.every(id => /^msg_[0-9a-f-]{36}$/.test(id)), 'webhook-id msg_<uuid>')
  t.equal(new Set(ids).size, 4, 'one id per event')

  const metrics = (await rt.api('GET', '/metrics')).text
  t.match(metrics, /mailslot_operator_events_total\{result="delivered"\} 4/)
  const key = endpoint.secret.slice('whsec_'.length)
  for (const [where, text] of [['logs', rt.logs()], ['/metrics', metrics]]) t.notOk(text.includes(key), `the secret is not in ${where}`)
})
