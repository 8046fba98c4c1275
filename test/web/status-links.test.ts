// Status links: the API that makes them (defaults, limits, errors) and the
// lifetime of the page they open (unknown, expired, mailbox deleted → 404).
import t from 'tap'
import { createHash } from 'node:crypto'
import { startTestRuntime } from '../helpers/runtime.ts'

const PUBLIC_URL = 'https://mailslot.example.com'
const rt = await startTestRuntime(t, { role: 'web', env: { MAILSLOT_PUBLIC_URL: PUBLIC_URL } })
const mailbox = {
  name: 'owned', provider: 'imap', address: 'incoming+%{key}@example.com',
  imap: { host: 'imap.example.com', user: 'owner@customer.example', password: 'owner-password-123' }
}
t.equal((await rt.api('POST', '/api/v1/mailboxes', mailbox)).status, 201)
const pathOf = (url: string): string => new URL(url).pathname
const get = async (path: string) => await fetch(rt.address + path)

t.test('201 {url, expiresAt}: a 256-bit token, stored only as its SHA-256; 30 days by default', async t => {
  const before = Date.now()
  const res = await rt.api('POST', '/api/v1/mailboxes/owned/status-link')
  t.equal(res.status, 201, res.text)
  t.same(Object.keys(res.body).sort(), ['expiresAt', 'url'])
  const token = res.body.url.slice(`${PUBLIC_URL}/status/`.length)
  t.match(res.body.url, /^https:\/\/mailslot\.example\.com\/status\/[A-Za-z0-9_-]{43}$/)
  const days = (Date.parse(res.body.expiresAt) - before) / 86_400_000
  t.ok(days > 29.99 && days < 30.01, `30 days (${days})`)
  const { rows } = await rt.ctx.pool.query<{ token_hash: Buffer }>('SELECT token_hash FROM status_links')
  t.same(rows.map(r => r.token_hash.toString('hex')), [createHash('sha256').update(token).digest('hex')])

  const page = await get(pathOf(res.body.url))
  t.equal(page.status, 200)
  t.match(page.headers.get('content-security-policy'), /default-src 'none'.*upgrade-insecure-requests/, 'https: requests are upgraded')
  t.equal(page.headers.get('referrer-policy'), 'no-referrer', 'the token does not leak through Referer')
  t.equal(page.headers.get('cache-control'), 'no-store')
  const html = await page.text()
  t.match(html, 'owner@customer.example')
  t.match(html, /badge[^"]*">pending</)
  t.notMatch(html, 'owner-password-123')

  const week = await rt.api('POST', '/api/v1/mailboxes/owned/status-link', { expiresInDays: 365 })
  t.equal(week.status, 201)
  t.ok(Date.parse(week.body.expiresAt) - before > 364 * 86_400_000)
})

t.test('400 naming expiresInDays; 404 for an unknown mailbox; 401 without the token', async t => {
  for (const expiresInDays of [0, 366, 1.5, 'ten']) {
    const res = await rt.api('POST', '/api/v1/mailboxes/owned/status-link', { expiresInDays })
    t.equal(res.status, 400, String(expiresInDays))
    t.equal(res.body.error.code, 'invalid_expiresInDays', String(expiresInDays))
  }
  const extra = await rt.api('POST', '/api/v1/mailboxes/owned/status-link', { expiresInDays: 3, mailbox: 'other' })
  t.equal(extra.status, 400)
  t.equal((await rt.api('POST', '/api/v1/mailboxes/nope/status-link')).status, 404)
  t.equal((await rt.api('POST', '/api/v1/mailboxes/owned/status-link', {}, null)).status, 401)
})

t.test('an unknown, expired or orphaned link answers a 404 page', async t => {
  const unknown = await get('/status/' + 'A'.repeat(43))
  t.equal(unknown.status, 404)
  t.match(unknown.headers.get('content-type'), /text\/html/)
  t.match(unknown.headers.get('content-security-policy'), /default-src 'none'/)
  t.match(await unknown.text(), /unknown or has expired/)

  const link = await rt.api('POST', '/api/v1/mailboxes/owned/status-link', { expiresInDays: 1 })
  const token = pathOf(link.body.url).split('/').at(-1) as string
  await rt.ctx.pool.query(`UPDATE status_links SET expires_at = now() - interval '1 second' WHERE token_hash = $1`,
    [createHash('sha256').update(token).digest()])
  t.equal((await get(pathOf(link.body.url))).status, 404, 'expired')

  const live = await rt.api('POST', '/api/v1/mailboxes/owned/status-link')
  const { rows } = await rt.ctx.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM status_links WHERE expires_at <= now()')
  t.equal(rows[0].n, 0, 'a new link clears the expired ones of its mailbox')
  t.equal((await get(pathOf(live.body.url))).status, 200)
  t.equal((await rt.api('DELETE', '/api/v1/mailboxes/owned')).status, 204)
  t.equal((await get(pathOf(live.body.url))).status, 404, 'the mailbox is gone')
})

t.test('409 public_url_required without MAILSLOT_PUBLIC_URL', async t => {
  const bare = await startTestRuntime(t, { role: 'web' })
  t.equal((await bare.api('POST', '/api/v1/mailboxes', mailbox)).status, 201)
  const res = await bare.api('POST', '/api/v1/mailboxes/owned/status-link')
  t.equal(res.status, 409)
  t.equal(res.body.error.code, 'public_url_required')
  t.match(res.body.error.message, 'MAILSLOT_PUBLIC_URL')
})

t.test('guessing at status links is rate limited like the other public routes', async t => {
  const limited = await startTestRuntime(t, { role: 'web', app: { publicRateLimit: 3 } })
  for (let i = 0; i < 3; i++) t.equal((await fetch(`${limited.address}/status/guess-${i}`)).status, 404)
  const res = await fetch(`${limited.address}/status/guess-4`)
  t.equal(res.status, 429)
  t.match(await res.text(), /Too many requests/)
})

t.test('a failure behind a page shows a plain 500 page and is logged', async t => {
  t.equal((await rt.api('POST', '/api/v1/mailboxes', { ...mailbox, name: 'fragile' })).status, 201)
  const link = await rt.api('POST', '/api/v1/mailboxes/fragile/status-link')
  await rt.ctx.pool.query('ALTER TABLE inbound_emails RENAME TO inbound_emails_away')
  try {
    const res = await get(pathOf(link.body.url))
    t.equal(res.status, 500)
    const html = await res.text()
    t.match(html, /Something went wrong/)
    t.notMatch(html, /inbound_emails|relation/, 'no database detail on the page')
    t.match(rt.logs(), /page failed/)
  } finally {
    await rt.ctx.pool.query('ALTER TABLE inbound_emails_away RENAME TO inbound_emails')
  }
})
