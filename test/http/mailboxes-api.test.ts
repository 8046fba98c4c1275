import t from 'tap'
import pg from 'pg'
import { startTestRuntime } from '../helpers/runtime.ts'

const PASSWORD = 'correct-horse-battery-staple-7731'
const mailbox = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'support',
  provider: 'imap',
  imap: { host: 'imap.example.com', port: 993, tls: 'implicit', user: 'support@example.com', password: PASSWORD, folder: 'INBOX' },
  address: 'incoming+%{key}@example.com',
  afterDelivery: 'seen',
  delivery: { kind: 'builtin' },
  pollIntervalSeconds: 60,
  ...over
})

t.test('admin API', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })

  t.test('needs the bearer token', async t => {
    for (const token of [null, 'wrong-token-wrong-token']) {
      const res = await rt.api('GET', '/api/v1/mailboxes', undefined, token)
      t.equal(res.status, 401)
      t.equal(res.body.error.code, 'unauthorized')
    }
  })

  t.test('add, list, get, delete; secrets never come back', async t => {
    const created = await rt.api('POST', '/api/v1/mailboxes', mailbox())
    t.equal(created.status, 201, created.text)
    t.equal(created.body.name, 'support')
    t.equal(created.body.imap.host, 'imap.example.com')
    t.equal(created.body.imap.password, undefined)
    t.notMatch(created.text, PASSWORD)

    const list = await rt.api('GET', '/api/v1/mailboxes')
    t.equal(list.status, 200)
    t.same(list.body.items.map((m: { name: string }) => m.name), ['support'])
    t.notMatch(list.text, PASSWORD)

    const one = await rt.api('GET', '/api/v1/mailboxes/support')
    t.equal(one.status, 200)
    t.same(Object.keys(one.body.health).sort(), ['consecutiveFailures', 'lastError', 'lastPollAt', 'lastSuccessAt', 'state'])
    t.notMatch(one.text, PASSWORD)

    const dup = await rt.api('POST', '/api/v1/mailboxes', mailbox())
    t.equal(dup.status, 409)
    t.equal(dup.body.error.code, 'mailbox_exists')

    // the database holds only ciphertext
    const db = new pg.Client({ connectionString: rt.databaseUrl }); await db.connect()
    const { rows } = await db.query('SELECT config::text AS config, secrets FROM mailboxes')
    await db.end()
    t.notMatch(rows[0].config, PASSWORD)
    t.ok(Buffer.isBuffer(rows[0].secrets))
    t.notOk((rows[0].secrets as Buffer).includes(Buffer.from(PASSWORD)))

    t.equal((await rt.api('POST', '/api/v1/mailboxes/support/poll')).status, 202)
    t.equal((await rt.api('DELETE', '/api/v1/mailboxes/support')).status, 204)
    t.equal((await rt.api('GET', '/api/v1/mailboxes/support')).status, 404)
    t.equal((await rt.api('DELETE', '/api/v1/mailboxes/support')).status, 404)
    t.equal((await rt.api('POST', '/api/v1/mailboxes/support/poll')).status, 404)
    t.notMatch(rt.logs(), PASSWORD, 'the password was never logged')
  })

  t.test('graph and webhook secrets are kept out too', async t => {
    const spec = {
      name: 'm365', provider: 'graph', mode: 'poll',
      graph: { tenantId: 't', clientId: 'c', clientSecret: 'graph-secret-value-991', user: 'a@b.c' },
      delivery: { kind: 'webhook', url: 'https://hooks.example.com/x', secret: 'whsec_' + Buffer.from('webhook-secret-value-1234').toString('base64') }
    }
    const res = await rt.api('POST', '/api/v1/mailboxes', spec)
    t.equal(res.status, 201, res.text)
    t.notMatch(res.text, 'graph-secret-value-991')
    t.notMatch(res.text, 'whsec_')
    t.equal(res.body.delivery.url, 'https://hooks.example.com/x')
    t.notMatch((await rt.api('GET', '/api/v1/mailboxes')).text, 'graph-secret-value-991')
  })

  t.test('validation errors name the field', async t => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [mailbox({ name: 'bad name!' }), 'invalid_name'],
      [mailbox({ provider: 'pop3' }), 'invalid_provider'],
      [mailbox({ imap: { host: 'h', user: 'u', port: 'abc' } }), 'invalid_imap.port'],
      [mailbox({ imap: { host: 'h', user: 'u', port: 70000 } }), 'invalid_imap.port'],
      [mailbox({ imap: { user: 'u' } }), 'invalid_imap.host'],
      [mailbox({ imap: undefined }), 'invalid_imap'],
      [mailbox({ address: 'no-key@example.com' }), 'invalid_address'],
      [mailbox({ afterDelivery: 'burn' }), 'invalid_afterDelivery'],
      [mailbox({ delivery: { kind: 'gitlab', url: 'http://gitlab' } }), 'invalid_delivery.mailboxType'],
      [mailbox({ delivery: { kind: 'webhook', url: 'http://x', secret: 'plain' } }), 'invalid_delivery.secret'],
      [mailbox({ pollIntervalSeconds: 1 }), 'invalid_pollIntervalSeconds'],
      [mailbox({ colour: 'red' }), 'invalid_colour']
    ]
    for (const [body, code] of cases) {
      const res = await rt.api('POST', '/api/v1/mailboxes', JSON.parse(JSON.stringify(body)))
      t.equal(res.status, 400, `${code}: ${res.text}`)
      t.equal(res.body.error.code, code, res.text)
      t.type(res.body.error.message, 'string')
    }
    const notJson = await fetch(rt.address + '/api/v1/mailboxes', { method: 'POST', headers: { authorization: `Bearer ${rt.token}`, 'content-type': 'application/json' }, body: '{nope' })
    t.equal(notJson.status, 400)
    t.equal((await notJson.json()).error.code, 'invalid_request')
  })

  t.test('unknown routes answer the error shape', async t => {
    const res = await rt.api('GET', '/api/v1/nothing-here')
    t.equal(res.status, 404)
    t.equal(res.body.error.code, 'not_found')
  })
})

t.test('probes and metrics', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  t.equal((await rt.api('POST', '/api/v1/mailboxes', mailbox())).status, 201)
  const health = await fetch(rt.address + '/healthz')
  t.equal(health.status, 200)
  t.same(await health.json(), { status: 'ok' })
  const ready = await fetch(rt.address + '/readyz')
  t.equal(ready.status, 200)
  const metrics = await fetch(rt.address + '/metrics')
  t.equal(metrics.status, 200)
  t.match(metrics.headers.get('content-type'), /text\/plain/)
  t.match(await metrics.text(), /mailslot_mailboxes\{state="pending"\} 1/, 'mailboxes counted by health state')
  // readyz goes 503 once the database is gone
  await rt.ctx.pool.end()
  const down = await fetch(rt.address + '/readyz')
  t.equal(down.status, 503)
  t.equal((await down.json()).checks.database === 'ok', false)
})

t.test('failed authentication is rate limited', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const statuses: number[] = []
  for (let i = 0; i < 35; i++) statuses.push((await rt.api('GET', '/api/v1/mailboxes', undefined, 'bad-token')).status)
  t.equal(statuses[0], 401)
  t.equal(statuses[34], 429)
  // the right token still works: successful requests are not counted
  t.equal((await rt.api('GET', '/api/v1/mailboxes')).status, 200)
})
