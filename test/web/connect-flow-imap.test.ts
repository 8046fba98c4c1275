// Customers connect a Microsoft 365 mailbox over IMAP and a Google mailbox
// through one kind of connect link in Chromium; mailslot logs in to the
// private Dovecot with XOAUTH2 (tokens checked by the fake identity platform),
// and waiting and new mail become Service Desk issues. A reconnect through a
// new link keeps the cursor: no email twice. The time from the callback to
// the first handled email is measured for each.
import t, { type Test } from 'tap'
import { makeEmail } from '../helpers/emails.ts'
import { waitFor } from '../helpers/wait.ts'
import { startBrowser } from '../helpers/browser.ts'
import { startOAuthImap } from '../helpers/oauth-imap.ts'
import { assertNoTokensShown, fakeApp, serviceDeskProject } from '../helpers/oauth.ts'
import { finishedCount } from '../helpers/rows.ts'
import { apiOk, connectFixture, connectInBrowser, median, newLink } from '../helpers/connect.ts'

t.setTimeout(300_000)
const { fake, rt } = await connectFixture(t, { fake: { consentPage: true } })
const { imap, stop } = await startOAuthImap({ fake })
t.teardown(stop)
const server = { host: imap.host, port: imap.port }
await apiOk(rt, 'POST', '/api/v1/oauth-apps', fakeApp(fake, 'microsoft-imap', { imap: server }))
await apiOk(rt, 'POST', '/api/v1/oauth-apps', fakeApp(fake, 'google', { imap: server }))
const project = await serviceDeskProject(rt, 'acme/help')
const chrome = await startBrowser(t)
const context = await chrome.browser.newContext({ ignoreHTTPSErrors: true })
t.teardown(async () => await context.close())
const page = await context.newPage()
const latencies: Record<string, number[]> = { 'Microsoft 365': [], Google: [] }
const titles = async (): Promise<string[]> => (await project.issues()).map(i => i.title)

/** One customer's connect: a mail waiting, the link (both apps offered), the browser; returns the callback→handled time. */
async function connectOne (t: Test, o: { provider: 'Microsoft 365' | 'Google', account: string, name: string }): Promise<void> {
  const subject = `Waiting in ${o.name}`
  await imap.append(o.account, 'INBOX', makeEmail(1, { to: o.account, subject }))
  const link = await newLink(rt, { mailbox: { name: o.name, serviceDeskProjectId: project.id }, apps: ['m365-imap', 'gmail'] })
  const done = await connectInBrowser(page, link, { button: `Connect with ${o.provider}`, account: o.account })
  t.equal(done.status, 200, `${o.provider}: connected`)
  t.match(await page.getByRole('status').textContent(), o.account)
  await waitFor(async () => (await titles()).includes(subject), `${o.name}: the waiting email handled`, 30_000)
  const [email] = (await apiOk(rt, 'GET', `/api/v1/emails?mailbox=${o.name}`)).items
  latencies[o.provider].push(Date.parse(email.handledAt) - done.callbackAt)
}

t.test('Microsoft 365 over IMAP and Google: connected, XOAUTH2 to Dovecot, mail becomes Service Desk issues', async t => {
  const microsoft = fake.addMailbox('it@customer.example')
  const google = fake.google.addUser('desk@customer-mail.example')
  await connectOne(t, { provider: 'Microsoft 365', account: microsoft.upn, name: 'acme-m365' })
  await connectOne(t, { provider: 'Google', account: google.email, name: 'acme-google' })
  for (const [name, account, app] of [['acme-m365', microsoft.upn, 'm365-imap'], ['acme-google', google.email, 'gmail']]) {
    t.match(await apiOk(rt, 'GET', `/api/v1/mailboxes/${name}`), {
      provider: 'imap', imap: { host: imap.host, port: imap.port, user: account, auth: { oauthApp: app } }, connection: { app, account, state: 'connected' }
    })
    await imap.append(account, 'INBOX', makeEmail(2, { to: account, subject: `New in ${name}` }))
    // the schedule polls once a minute at most: ask now
    await apiOk(rt, 'POST', `/api/v1/mailboxes/${name}/poll`)
  }
  await waitFor(async () => (await titles()).length === 4, 'the new emails handled', 30_000)
  t.same((await titles()).sort(), ['New in acme-google', 'New in acme-m365', 'Waiting in acme-google', 'Waiting in acme-m365'])
  t.same(await imap.seen(microsoft.upn, 'INBOX'), [1, 2], 'marked seen once stored')
  t.ok(fake.introspections.some(i => i.active && i.account === google.email), 'Dovecot took the Google token')
  t.ok(fake.introspections.some(i => i.active && i.account === microsoft.upn), 'and the Microsoft one')
})

t.test('a reconnect through a new link keeps the cursor: no email twice', async t => {
  const before = await rt.ctx.pool.query("SELECT cursor FROM mailboxes WHERE name = 'acme-google'")
  const link = await newLink(rt, { mailbox: 'acme-google', apps: ['gmail'] })
  const since = new Date()
  const done = await connectInBrowser(page, link, { button: 'Connect with Google', account: 'desk@customer-mail.example' })
  t.equal(done.status, 200)
  t.equal(fake.google.authorizeRequests.at(-1)?.login_hint, 'desk@customer-mail.example')
  await waitFor(async () => Date.parse((await apiOk(rt, 'GET', '/api/v1/mailboxes/acme-google')).health.lastSuccessAt) > since.getTime(), 'synced after the reconnect')
  const after = await rt.ctx.pool.query("SELECT cursor FROM mailboxes WHERE name = 'acme-google'")
  t.same(after.rows[0].cursor, before.rows[0].cursor, 'the cursor is the one from before')
  t.ok(after.rows[0].cursor !== null)

  await imap.append('desk@customer-mail.example', 'INBOX', makeEmail(3, { to: 'desk@customer-mail.example', subject: 'After the reconnect' }))
  await apiOk(rt, 'POST', '/api/v1/mailboxes/acme-google/poll')
  await waitFor(async () => (await finishedCount(rt, 'acme-google')) === 3, 'the new email handled', 30_000)
  t.equal((await titles()).filter(s => s.endsWith('acme-google') || s === 'After the reconnect').length, 3, 'three issues, none twice')
  await assertNoTokensShown(t, rt, fake)
})

t.test('callback → first handled email, over a few connects', async t => {
  for (let i = 1; i <= 2; i++) {
    await connectOne(t, { provider: 'Microsoft 365', account: fake.addMailbox(`ops${i}@customer.example`).upn, name: `ops-m365-${i}` })
    await connectOne(t, { provider: 'Google', account: fake.google.addUser(`ops${i}@customer-mail.example`).email, name: `ops-google-${i}` })
  }
  for (const [provider, runs] of Object.entries(latencies)) {
    t.comment(`${provider} (IMAP XOAUTH2): callback → first handled email: median ${Math.round(median(runs))} ms (runs: ${runs.map(Math.round).join(', ')} ms)`)
    t.ok(median(runs) < 10_000, `${provider}: within seconds of the callback`)
  }
})
