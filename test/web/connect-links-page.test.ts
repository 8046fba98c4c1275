// Connect links in Chromium: the admin creates one on /admin/connect-links
// (the URL shown once, never again), a customer opens it, signs in at the
// fake provider's consent page — first declining, then accepting — and the
// admin list shows the link used. Refusals and the CSP along the way.
import t from 'tap'
import { signIn, startBrowser } from '../helpers/browser.ts'
import { fakeApp } from '../helpers/oauth.ts'
import { apiOk, connectFixture } from '../helpers/connect.ts'

t.setTimeout(180_000)
const { fake, rt, publicUrl } = await connectFixture(t, { role: 'web', fake: { consentPage: true } })
await apiOk(rt, 'POST', '/api/v1/oauth-apps', fakeApp(fake, 'microsoft-graph'))
await apiOk(rt, 'POST', '/api/v1/oauth-apps', fakeApp(fake, 'google'))
const project = await apiOk(rt, 'POST', '/api/v1/projects', { path: 'acme/help', serviceDesk: true })
const CUSTOMER = 'support@customer.example'
fake.addMailbox(CUSTOMER)

const chrome = await startBrowser(t)
const admin = await chrome.page()
const cspViolations: string[] = []
admin.on('console', msg => { if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text()) })
await signIn(admin, publicUrl, rt.token)
const TOKEN_IN_URL = /\/connect\/([A-Za-z0-9_-]{43})/
let linkUrl = ''

t.test('the admin creates a link; its URL is shown once', async t => {
  await admin.getByRole('link', { name: 'Connect links' }).click()
  await admin.waitForURL('**/admin/connect-links')
  t.equal(await admin.getByRole('heading', { level: 1 }).textContent(), 'Connect links')

  // nothing chosen: the form again, saying what is missing, with the values kept
  await admin.getByLabel('New mailbox name').fill('acme')
  const [refused] = await Promise.all([admin.waitForResponse(r => r.request().method() === 'POST'), admin.getByRole('button', { name: 'Create link' }).click()])
  t.equal(refused.status(), 400)
  t.match(await admin.getByRole('alert').first().textContent(), /Ways to connect: must name at least one OAuth app/)
  t.equal(await admin.getByLabel('New mailbox name').inputValue(), 'acme')

  await admin.getByLabel('Service Desk project').selectOption({ label: 'acme/help' })
  await admin.getByLabel(/^m365/).check()
  await admin.getByLabel('Expires after').selectOption({ label: '3 days' })
  const [created] = await Promise.all([admin.waitForResponse(r => r.request().method() === 'POST'), admin.getByRole('button', { name: 'Create link' }).click()])
  t.equal(created.status(), 200)
  linkUrl = await admin.getByLabel('Link to send to the mailbox owner').inputValue()
  t.match(linkUrl, new RegExp(`^${publicUrl}/connect/[A-Za-z0-9_-]{43}$`))
  const { rows } = await rt.ctx.pool.query('SELECT mailbox, apps, expires_at - created_at AS lifetime FROM connect_links')
  t.same(rows[0].mailbox, { name: 'acme', serviceDeskProjectId: project.id })
  t.same(rows[0].apps, ['m365'])
  t.equal(rows[0].lifetime.days, 3)

  // the list names the link; the token is not on the page any more
  await admin.goto(`${publicUrl}/admin/connect-links`)
  const row = admin.getByRole('row', { name: /acme/ })
  t.match(await row.textContent(), /open/)
  t.notMatch(await admin.content(), TOKEN_IN_URL, 'no token once the page is left')
})

t.test('the customer declines, then connects with the same link', async t => {
  const context = await chrome.browser.newContext({ ignoreHTTPSErrors: true })
  t.teardown(async () => await context.close())
  const customer = await context.newPage()
  customer.on('console', msg => { if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text()) })
  const opened = await customer.goto(linkUrl)
  t.equal(opened?.status(), 200)
  t.equal(await customer.getByRole('heading', { level: 1 }).textContent(), 'Connect your mailbox')
  const button = customer.getByRole('button', { name: 'Connect with Microsoft 365' })
  t.equal(await button.count(), 1)
  t.equal(await customer.getByRole('button', { name: /Google/ }).count(), 0, 'only the apps of the link')

  await button.click()
  await customer.waitForURL(`${fake.url}/**`)
  await customer.getByLabel('Account').fill(CUSTOMER)
  const [declined] = await Promise.all([customer.waitForResponse(r => r.url().startsWith(`${publicUrl}/oauth/callback`)), customer.getByRole('button', { name: 'Cancel' }).click()])
  t.equal(declined.status(), 403)
  t.match(await customer.getByRole('heading', { level: 1 }).textContent(), 'Access was not allowed')
  t.match(await customer.getByRole('alert').textContent(), /still works until/)

  await customer.goto(linkUrl)
  await customer.getByRole('button', { name: 'Connect with Microsoft 365' }).click()
  await customer.waitForURL(`${fake.url}/**`)
  await customer.getByLabel('Account').fill(CUSTOMER)
  const [done] = await Promise.all([customer.waitForResponse(r => r.url().startsWith(`${publicUrl}/oauth/callback`)), customer.getByRole('button', { name: 'Accept' }).click()])
  t.equal(done.status(), 200)
  t.equal(await customer.getByRole('heading', { level: 1 }).textContent(), 'Your mailbox is connected')
  t.match(await customer.getByRole('status').textContent(), CUSTOMER)

  const used = await customer.goto(linkUrl)
  t.equal(used?.status(), 410)
  t.equal(await customer.getByRole('heading', { level: 1 }).textContent(), 'This link has already been used')
  const tampered = await customer.goto(linkUrl.slice(0, -3) + (linkUrl.endsWith('xyz') ? 'abc' : 'xyz'))
  t.equal(tampered?.status(), 404)
  t.equal(await customer.getByRole('heading', { level: 1 }).textContent(), 'This link is not valid')
})

t.test('the admin list shows the link used; a reconnect link for the mailbox; CSRF and session guard', async t => {
  await admin.goto(`${publicUrl}/admin/connect-links`)
  t.match(await admin.getByRole('row', { name: /acme/ }).textContent(), /used/)

  await admin.getByLabel('Reconnect an existing mailbox').selectOption('acme')
  await admin.getByLabel(/^m365/).check()
  await admin.getByRole('button', { name: 'Create link' }).click()
  t.match(await admin.getByLabel('Link to send to the mailbox owner').inputValue(), TOKEN_IN_URL)
  const { rows } = await rt.ctx.pool.query('SELECT login_hint FROM connect_links WHERE mailbox_id IS NOT NULL')
  t.same(rows, [{ login_hint: CUSTOMER }])

  const cookie = (await admin.context().cookies()).map(c => `${c.name}=${c.value}`).join('; ')
  const forged = await fetch(`${publicUrl}/admin/connect-links`, {
    method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=evil&apps=m365'
  })
  t.equal(forged.status, 403, 'no CSRF token: refused')
  const anonymous = await fetch(`${publicUrl}/admin/connect-links`, { redirect: 'manual' })
  t.equal(anonymous.status, 303)
  t.equal(anonymous.headers.get('location'), '/admin')
  t.equal(await rt.ctx.pool.query("SELECT 1 FROM connect_links WHERE mailbox->>'name' = 'evil'").then(r => r.rowCount), 0)
})

t.test('no CSP violation on any page', async t => {
  t.same(cspViolations, [])
})
