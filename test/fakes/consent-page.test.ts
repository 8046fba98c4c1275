// The interactive /authorize page (consentPage: true) clicked through in
// headless Chromium, as a customer would: Accept returns a code that
// openid-client redeems, Cancel returns error=access_denied.
import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as client from 'openid-client'
import { chromium } from 'playwright-core'
import { startFakeGraph } from './graph/index.ts'

t.setTimeout(90_000)
const fake = await startFakeGraph({ consentPage: true })
t.teardown(() => fake.close())
const alice = fake.addMailbox('alice@contoso.example')
const carol = fake.google.addUser('carol@customer.example')
const erin = fake.google.addUser('erin@customer.example')

// The app's callback: a page the browser lands on.
const callbacks = http.createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<h1>Connected</h1>') })
await new Promise<void>((resolve) => callbacks.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise((resolve) => callbacks.close(resolve)))
const REDIRECT = `http://127.0.0.1:${(callbacks.address() as AddressInfo).port}/oauth/callback`

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
})
t.teardown(() => browser.close())
// Chromium does not use Node's CA list: the fake's self-signed certificate is accepted per context.
const context = await browser.newContext({ ignoreHTTPSErrors: true })

async function start (config: client.Configuration, scope: string, extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope, state, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  })
  const page = await context.newPage()
  t.teardown(() => page.close())
  await page.goto(url.href)
  const redeem = async () =>
    await client.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state })
  return { page, redeem }
}

t.test('Microsoft: the page names the account; Accept signs in, Cancel declines', async (t) => {
  const config = await client.discovery(new URL(`${fake.url}/${fake.tenantId}/v2.0`), fake.clientId, fake.clientSecret)
  const { page, redeem } = await start(config, 'openid profile email offline_access Mail.ReadWrite', { login_hint: alice.upn })
  t.equal(await page.getByRole('heading').textContent(), `Sign in as ${alice.upn}`)
  t.equal(await page.getByLabel('Account').inputValue(), alice.upn)
  t.ok(await page.getByText('Mail.ReadWrite').isVisible(), 'the scopes are listed')
  await Promise.all([page.waitForURL(`${REDIRECT}?**`), page.getByRole('button', { name: 'Accept' }).click()])
  t.match((await redeem()).claims(), { preferred_username: alice.upn })

  const cancelled = await start(config, 'openid offline_access Mail.ReadWrite', { login_hint: alice.upn })
  await Promise.all([cancelled.page.waitForURL(`${REDIRECT}?**`), cancelled.page.getByRole('button', { name: 'Cancel' }).click()])
  const back = new URL(cancelled.page.url())
  t.equal(back.searchParams.get('error'), 'access_denied')
  t.match(back.searchParams.get('error_description'), /^AADSTS65004/)
  t.ok(back.searchParams.get('state'), 'state comes back')
})

t.test('Google: another account can be typed; an unknown one is shown as an error', async (t) => {
  const config = await client.discovery(new URL(fake.google.issuer), fake.google.clientId, fake.google.clientSecret)
  const { page, redeem } = await start(config, 'openid email https://mail.google.com/', { login_hint: carol.email, access_type: 'offline', prompt: 'consent' })
  t.equal(await page.getByRole('heading').textContent(), `Sign in as ${carol.email}`)
  await page.getByLabel('Account').fill('nobody@customer.example')
  await page.getByRole('button', { name: 'Accept' }).click()
  t.match(await page.getByRole('alert').textContent(), /Couldn't find your Google Account/)
  await page.getByLabel('Account').fill(erin.email)
  await Promise.all([page.waitForURL(`${REDIRECT}?**`), page.getByRole('button', { name: 'Accept' }).click()])
  const tokens = await redeem()
  t.match(tokens.claims(), { email: erin.email, sub: erin.sub })
  t.ok(tokens.refresh_token, 'offline + consent: a refresh token')

  const answered = await fetch(`${fake.url}/consent`, { method: 'POST', body: new URLSearchParams({ request: 'unknown', action: 'accept' }) })
  t.equal(answered.status, 400, 'an unknown or answered page request')
})

t.test('instant mode is back when the page is turned off', async (t) => {
  fake.consentPage = false
  const res = await fetch(`${fake.google.issuer}/o/oauth2/v2/auth?${new URLSearchParams({ client_id: fake.google.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', login_hint: carol.email })}`, { redirect: 'manual' })
  t.equal(res.status, 302)
})
