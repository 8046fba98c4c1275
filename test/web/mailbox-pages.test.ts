// The admin pages against real parts: Dovecot mailboxes in three health
// states, a webhook receiver that refuses and then accepts, and Chromium.
// The mailbox table, a hostile subject shown as text, Replay from the page,
// the owner's status page, CSP on every page and no secret in any of them.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { makeEmail } from '../helpers/emails.ts'
import { startBrowser, signIn } from '../helpers/browser.ts'
import { waitFor } from '../helpers/wait.ts'
import { deliveryFixture } from '../handlers/delivery-fixture.ts'
import { startEndpoint } from '../handlers/delivery-endpoint.ts'

t.setTimeout(180_000)
const PUBLIC_URL = 'http://mailslot.test'
const fx = await deliveryFixture(t, { MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'true', MAILSLOT_PUBLIC_URL: PUBLIC_URL })
const { rt, imap } = fx
const chrome = await startBrowser(t)

// the receiver refuses (401: failed at once) until told otherwise
let accept = false
const hook = await startEndpoint(t, async () => {}, () => ({ status: accept ? 204 : 401 }))
const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`
const HOSTILE = '<script>document.title="pwned"</script><b>x</b>'
const SENDER = 'very-private-sender@customer.example'
const to = 'incoming+group-project-12-abc123-issue@example.com'

const owner = imap.addUser()
await imap.appendMany(owner.user, 'INBOX', [
  makeEmail(1, { to, subject: HOSTILE, from: `Mallory <${SENDER}>` }),
  makeEmail(2, { to, subject: 'Printer on fire', from: `Alice <${SENDER}>` }),
  makeEmail(3, { to, subject: 'Out of office', headers: { 'Auto-Submitted': 'auto-replied' } })
])
const imapSettings = (user: string, password: string, port = imap.port) =>
  ({ host: imap.host, port, tls: 'none', user, password, connectTimeoutSeconds: 5 })
const create = async (spec: Record<string, unknown>) => {
  const res = await rt.api('POST', '/api/v1/mailboxes', { address: 'incoming+%{key}@example.com', provider: 'imap', ...spec })
  if (res.status !== 201) throw new Error(res.text)
}
await create({ name: 'support', imap: imapSettings(owner.user, owner.password), delivery: { kind: 'webhook', url: `${hook.url}/hooks/mail`, secret: webhookSecret } })
const wrong = imap.addUser()
await create({ name: 'wrong-password', imap: imapSettings(wrong.user, 'not-the-password-42') })
await create({ name: 'closed-port', imap: imapSettings('nobody@example.com', 'closed-port-password-77', 1) })
const emails = await fx.settled('support', 3)
await waitFor(async () => {
  const items = (await rt.api('GET', '/api/v1/mailboxes')).body.items as Array<{ health: { state: string } }>
  return items.every(m => m.health.state !== 'pending')
}, 'every mailbox polled')

const SECRETS = [rt.token, owner.password, wrong.password, 'not-the-password-42', 'closed-port-password-77', webhookSecret, webhookSecret.slice(6)]
const seen: Array<{ url: string, html: string, csp: string | undefined }> = []
const page = await chrome.page()
page.on('response', async res => {
  if (res.request().resourceType() !== 'document') return
  seen.push({ url: res.url(), html: await res.text().catch(() => ''), csp: res.headers()['content-security-policy'] })
})
const cspViolations: string[] = []
page.on('console', msg => { if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text()) })
await signIn(page, String(rt.address), rt.token)

t.test('the mailbox table: one row per mailbox with its health state', async t => {
  await page.goto(`${rt.address}/admin/mailboxes`)
  const row = (name: string) => page.getByRole('row').filter({ has: page.getByRole('rowheader', { name }) })
  const headers = await page.getByRole('columnheader').allTextContents()
  t.same(headers, ['Mailbox', 'Provider', 'Health', 'Last success', 'Last error', 'Waiting', 'Subscription expires', 'Connection'])
  t.match(await row('support').textContent(), /imap\s+ok/)
  t.match(await row('wrong-password').textContent(), /auth failed/)
  t.match(await row('closed-port').textContent(), /failing/)
  t.match(await row('closed-port').locator('.error-text').textContent(), /\S/, 'the last error is shown')
  t.equal((await row('support').locator('td').nth(4).textContent())?.trim(), '0', 'no emails waiting')
  t.equal((await row('support').locator('td').nth(6).textContent())?.trim(), '—', 'no connection')
  t.match(await page.locator('.tiles').textContent(), /3\s*mailboxes.*1\s*healthy.*2\s*need attention/s)
  await row('support').getByRole('link', { name: 'support' }).click()
  await page.waitForURL('**/admin/mailboxes/support')
})

t.test('a hostile subject is shown as text and runs nothing', async t => {
  await page.goto(`${rt.address}/admin/mailboxes/support`)
  t.equal(await page.getByRole('rowheader', { name: HOSTILE }).count(), 1, 'the subject appears literally')
  t.equal(await page.locator('main b').count(), 0, 'no <b> element came from it')
  t.equal(await page.locator('main script').count(), 0, 'no <script> element came from it')
  t.equal(await page.title(), 'support · mailslot', 'the script did not run')
  t.same(page.scriptErrors, [])
  const html = seen.findLast(s => s.url.endsWith('/admin/mailboxes/support'))?.html ?? ''
  t.match(html, '&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;')
})

t.test('Replay from the page: the failed email is handled', async t => {
  const failed = emails.filter(e => e.status === 'failed')
  t.equal(failed.length, 2, 'both refused deliveries failed')
  t.equal(await page.getByRole('button', { name: 'Replay' }).count(), 2, 'one Replay button per failed email')
  accept = true
  const target = failed[1]
  await page.getByRole('button', { name: `Replay email ${target.id}` }).click()
  await page.waitForURL(`**/admin/mailboxes/support?replayed=${target.id}`)
  t.match(await page.getByRole('status').textContent(), `Email ${target.id} is queued to be handled again.`)
  await waitFor(async () => (await rt.api('GET', `/api/v1/emails/${target.id}`)).body.status === 'delivered', 'the replayed email delivered')
  await page.reload()
  t.equal(await page.getByRole('button', { name: 'Replay' }).count(), 1, 'the delivered one has no Replay button any more')
  t.equal(hook.received.filter(r => r.headers['webhook-id'] === `msg_${target.id}`).length, 2, 'refused once, then delivered')
})

t.test('an email of another mailbox, or one that is not failed, is not replayed from here', async t => {
  const csrf = await page.locator('input[name=_csrf]').first().inputValue()
  const cookie = (await page.context().cookies()).map(c => `${c.name}=${c.value}`).join('; ')
  const post = async (path: string) => await fetch(rt.address + path, {
    method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${encodeURIComponent(csrf)}`
  })
  const other = await post(`/admin/mailboxes/closed-port/emails/${emails[0].id}/replay`)
  t.equal(other.status, 404)
  t.match(await other.text(), /no email \d+ in mailbox &quot;closed-port&quot;/)
  t.equal((await post('/admin/mailboxes/support/emails/999999/replay')).status, 404)
  t.equal((await page.goto(`${rt.address}/admin/mailboxes/no-such-mailbox`))?.status(), 404)
  t.match(await page.getByRole('heading', { level: 1 }).textContent(), 'Not found')
  t.equal((await page.goto(`${rt.address}/admin/mailboxes/support?replayed=yesterday`))?.status(), 400)
  t.match(await page.getByRole('heading', { level: 1 }).textContent(), 'Bad request')
})

t.test("the owner's status page: counts by status and reason, no subject or sender", async t => {
  const link = await rt.api('POST', '/api/v1/mailboxes/support/status-link', { expiresInDays: 7 })
  t.equal(link.status, 201, link.text)
  t.match(link.body.url, /^http:\/\/mailslot\.test\/status\/[A-Za-z0-9_-]{43}$/)
  const res = await page.goto(rt.address + new URL(link.body.url as string).pathname)
  t.equal(res?.status(), 200)
  t.match(await page.locator('.lead').textContent(), owner.user)
  t.match(await page.locator('.facts').textContent(), /Health\s*ok/)
  const rows = await page.locator('tbody tr').allTextContents()
  t.same(rows.map(r => r.replace(/\s+/g, ' ').trim()).sort(), ['delivered — 1', 'failed — 1', 'rejected auto generated 1'])
  const html = seen.at(-1)?.html ?? ''
  for (const hidden of [HOSTILE, 'Printer on fire', 'Out of office', SENDER, 'pwned']) t.notMatch(html, hidden)
})

t.test('every page sends the CSP; the browser loaded everything under it', async t => {
  await page.goto(`${rt.address}/admin/nowhere`) // not a page: the API's JSON 404 (no CSP needed)
  const pages = seen.filter(s => !s.url.endsWith('/admin/nowhere'))
  t.ok(pages.length >= 6)
  for (const s of pages) {
    t.match(s.csp, /default-src 'none'/, s.url)
    t.notMatch(s.csp, /unsafe-inline|unsafe-eval/, s.url)
  }
  t.same(cspViolations, [], 'nothing on the pages was refused by the CSP')
  t.equal(await page.evaluate(async () => (await fetch('/assets/style.css')).status), 200)
})

t.test('no secret appears in any page', async t => {
  t.ok(seen.length >= 6)
  for (const s of seen) for (const secret of SECRETS) t.notOk(s.html.includes(secret), `${s.url} does not show a secret`)
})
