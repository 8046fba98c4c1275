// POST /api/v1/connect-links: what it answers, what it refuses, what it stores (a hash, no secret in clear).
import t from 'tap'
import { freePort } from '../../src/db/embedded.ts'
import { startTestRuntime } from '../helpers/runtime.ts'

const port = await freePort()
const PUBLIC_URL = `http://127.0.0.1:${port}`
const rt = await startTestRuntime(t, { role: 'web', env: { PORT: String(port), MAILSLOT_PUBLIC_URL: PUBLIC_URL } })

const apps = [
  { name: 'm365', kind: 'microsoft', clientId: 'c1', clientSecret: 'app-secret-1' },
  { name: 'gmail', kind: 'google', clientId: 'c2', clientSecret: 'app-secret-2' }
]
for (const app of apps) {
  const res = await rt.api('POST', '/api/v1/oauth-apps', app)
  if (res.status !== 201) throw new Error(`app ${app.name}: ${res.status} ${res.text}`)
}
const WEBHOOK_SECRET = 'whsec_' + Buffer.from('link-webhook-secret-0042').toString('base64')

t.test('a new mailbox: 201 with a URL under MAILSLOT_PUBLIC_URL; only the token\'s hash is stored', async t => {
  const before = Date.now()
  const res = await rt.api('POST', '/api/v1/connect-links', {
    mailbox: { name: 'acme', serviceDeskProjectId: 1, delivery: { kind: 'webhook', url: 'https://hooks.example.com/in', secret: WEBHOOK_SECRET } },
    apps: ['m365', 'gmail']
  })
  t.equal(res.status, 201, res.text)
  t.same(Object.keys(res.body).sort(), ['expiresAt', 'id', 'url'])
  const token = new RegExp(`^${PUBLIC_URL}/connect/([A-Za-z0-9_-]{43})$`).exec(res.body.url)?.[1]
  t.ok(token, 'the URL carries a 256-bit token')
  const expires = Date.parse(res.body.expiresAt) - before
  t.ok(expires > 1439 * 60_000 && expires < 1441 * 60_000, 'a day by default')
  t.notMatch(res.text, WEBHOOK_SECRET)

  const { rows } = await rt.ctx.pool.query('SELECT row_to_json(c)::text AS row, secrets, apps FROM connect_links c WHERE id = $1', [res.body.id])
  t.notMatch(rows[0].row, token as string, 'the token is not stored')
  t.notMatch(rows[0].row, 'link-webhook-secret', 'the webhook secret is not stored in clear')
  t.ok(Buffer.isBuffer(rows[0].secrets), 'it is sealed')
  t.same(rows[0].apps, ['m365', 'gmail'])
  t.notMatch(rt.logs(), token as string, 'the token was not logged')
})

t.test('an existing mailbox: reconnect, with its user as login hint', async t => {
  const created = await rt.api('POST', '/api/v1/mailboxes', {
    name: 'old-imap', provider: 'imap', imap: { host: 'imap.example.com', user: 'help@customer.example', password: 'pw-123456' }
  })
  t.equal(created.status, 201, created.text)
  const res = await rt.api('POST', '/api/v1/connect-links', { mailbox: 'old-imap', apps: ['gmail'], expiresInMinutes: 10080 })
  t.equal(res.status, 201, res.text)
  const { rows } = await rt.ctx.pool.query('SELECT mailbox, mailbox_id, login_hint FROM connect_links WHERE id = $1', [res.body.id])
  t.same(rows[0], { mailbox: { name: 'old-imap' }, mailbox_id: created.body.id, login_hint: 'help@customer.example' })
})

t.test('refusals name the field', async t => {
  const cases: Array<[unknown, number, string]> = [
    [{ mailbox: { name: 'x' }, apps: ['nope'] }, 400, 'invalid_apps'],
    [{ mailbox: { name: 'x' }, apps: [] }, 400, 'invalid_apps'],
    [{ mailbox: { name: 'x' } }, 400, 'invalid_apps'],
    [{ mailbox: { name: 'x' }, apps: ['m365'], expiresInMinutes: 0 }, 400, 'invalid_expiresInMinutes'],
    [{ mailbox: { name: 'x' }, apps: ['m365'], expiresInMinutes: 10081 }, 400, 'invalid_expiresInMinutes'],
    [{ mailbox: { name: 'x' }, apps: ['m365'], expiresInMinutes: '60' }, 400, 'invalid_expiresInMinutes'],
    [{ mailbox: 'no-such-mailbox', apps: ['m365'] }, 400, 'invalid_mailbox'],
    [{ apps: ['m365'] }, 400, 'invalid_mailbox'],
    [{ mailbox: {}, apps: ['m365'] }, 400, 'invalid_mailbox.name'],
    [{ mailbox: { name: 'bad name!' }, apps: ['m365'] }, 400, 'invalid_mailbox.name'],
    [{ mailbox: { name: 'x', provider: 'imap' }, apps: ['m365'] }, 400, 'invalid_mailbox.provider'],
    [{ mailbox: { name: 'x', imap: { host: 'h', user: 'u', password: 'p' } }, apps: ['m365'] }, 400, 'invalid_mailbox.imap'],
    [{ mailbox: { name: 'x', pollIntervalSeconds: 1 }, apps: ['m365'] }, 400, 'invalid_mailbox.pollIntervalSeconds'],
    [{ mailbox: { name: 'x', serviceDeskProjectId: 'one' }, apps: ['m365'] }, 400, 'invalid_mailbox.serviceDeskProjectId'],
    [{ mailbox: { name: 'x', color: 'red' }, apps: ['m365'] }, 400, 'invalid_mailbox.color'],
    [{ mailbox: { name: 'x', delivery: { kind: 'webhook', url: 'http://10.0.0.1/x', secret: WEBHOOK_SECRET } }, apps: ['m365'] }, 400, 'invalid_mailbox.delivery.url'],
    [{ mailbox: { name: 'x', delivery: { kind: 'webhook', url: 'https://hooks.example.com/x', secret: { env: 'HOME' } } }, apps: ['m365'] }, 400, 'invalid_mailbox.delivery.secret'],
    [{ mailbox: { name: 'old-imap' }, apps: ['m365'] }, 409, 'mailbox_exists']
  ]
  for (const [body, status, code] of cases) {
    const res = await rt.api('POST', '/api/v1/connect-links', body)
    t.equal(res.status, status, JSON.stringify(body))
    t.equal(res.body.error?.code, code, JSON.stringify(body))
  }
  t.equal((await rt.api('POST', '/api/v1/connect-links', { mailbox: 'old-imap', apps: ['m365'] }, null)).status, 401, 'needs the admin token')
})

t.test('without MAILSLOT_PUBLIC_URL: 409 public_url_required', async t => {
  const bare = await startTestRuntime(t, { role: 'web', databaseUrl: rt.databaseUrl, env: { ...rt.env, PORT: '0' } })
  const res = await bare.api('POST', '/api/v1/connect-links', { mailbox: { name: 'y' }, apps: ['m365'] }, rt.token)
  t.equal(res.status, 409)
  t.equal(res.body.error.code, 'public_url_required')
})
