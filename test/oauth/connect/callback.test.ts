// The connect flow over HTTP, against the fake identity platform: the link's
// page, every refusal (tampered, expired, used link; declined consent; forged,
// replayed or raced state) and what a completed flow stores.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { apiOk, openCallback, connectFixture, connectThrough, newLink, pressConnect, providerAnswer } from '../../helpers/connect.ts'
import { countRows } from '../../helpers/rows.ts'
import { fakeApp } from '../../helpers/oauth.ts'

const { fake, rt, publicUrl } = await connectFixture(t, { role: 'web' })
await apiOk(rt, 'POST', '/api/v1/oauth-apps', fakeApp(fake, 'microsoft-graph'))
await apiOk(rt, 'POST', '/api/v1/oauth-apps', fakeApp(fake, 'google'))
const project = await apiOk(rt, 'POST', '/api/v1/projects', { path: 'acme/help', serviceDesk: true })
let n = 0
/** A fresh Microsoft account the fake signs in, and a link creating a mailbox for it. */
async function freshLink (apps = ['m365']): Promise<{ url: string, upn: string, name: string }> {
  n++
  const upn = `support${n}@customer.example`
  fake.addMailbox(upn)
  fake.signInAs(upn)
  const name = `acme-${n}`
  return { url: await newLink(rt, { mailbox: { name, serviceDeskProjectId: project.id }, apps }), upn, name }
}
const codeGrants = (): number => fake.tokenRequests.filter(r => r.grantType === 'authorization_code').length

t.test('the link page: one button per app named by its provider; the CSP lets its forms reach the providers', async t => {
  const { url } = await freshLink(['m365', 'gmail'])
  const res = await fetch(url)
  const html = await res.text()
  t.equal(res.status, 200)
  t.match(html, /<button[^>]*>Connect with Microsoft 365<\/button>/)
  t.match(html, /<button[^>]*>Connect with Google<\/button>/)
  t.notMatch(html, url.split('/').pop() as string, 'the page does not repeat the token')
  const csp = res.headers.get('content-security-policy') ?? ''
  t.match(csp, /default-src 'none'/)
  t.match(csp, new RegExp(`form-action 'self' ${new URL(fake.url).origin.replace(/[.]/g, '\\.')}`))
  const authorize = await pressConnect(url, 'm365')
  t.equal(authorize.origin, new URL(fake.url).origin)
  t.match(Object.fromEntries(authorize.searchParams), {
    response_type: 'code', code_challenge_method: 'S256', redirect_uri: `${publicUrl}/oauth/callback`, client_id: fake.clientId
  })
  t.match(authorize.searchParams.get('state'), /^[A-Za-z0-9_-]{43}$/, 'a 256-bit state')
  t.match(authorize.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
  t.ok(authorize.searchParams.get('nonce'))
})

t.test('a completed flow creates the mailbox, stores the grant sealed, uses the link up', async t => {
  const { url, upn, name } = await freshLink()
  const done = await connectThrough(url, 'm365')
  t.equal(done.status, 200)
  t.match(done.html, 'Your mailbox is connected')
  t.match(done.html, upn)
  const mailbox = await apiOk(rt, 'GET', `/api/v1/mailboxes/${name}`)
  t.match(mailbox, { provider: 'graph', serviceDeskProjectId: project.id, graph: { user: upn, oauthApp: 'm365' } })
  const { rows } = await rt.ctx.pool.query('SELECT account, state, tokens FROM oauth_connections WHERE mailbox_id = $1', [mailbox.id])
  t.match(rows[0], { account: upn, state: 'connected' })
  const tokens = fake.tokenRequests.filter(r => r.grantType === 'authorization_code')
  t.ok(tokens.length > 0)

  const again = await fetch(url)
  t.equal(again.status, 410, 'the link is used up')
  t.match(await again.text(), 'already been used')
  const replay = await openCallback(done.callbackUrl)
  t.equal(replay.status, 400, 'the same callback again: refused')
})

t.test('tampered and expired links: pages that say so, for GET and POST', async t => {
  const { url } = await freshLink()
  const token = url.split('/').pop() as string
  const tampered = `${publicUrl}/connect/${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`
  for (const bad of [tampered, `${publicUrl}/connect/short`, `${publicUrl}/connect/${randomBytes(32).toString('base64url')}`]) {
    const res = await fetch(bad)
    t.equal(res.status, 404, bad)
    t.match(await res.text(), 'This link is not valid')
  }
  await rt.ctx.pool.query("UPDATE connect_links SET expires_at = now() - interval '1 minute' WHERE token_hash = sha256($1::bytea)", [Buffer.from(token)])
  const expired = await fetch(url)
  t.equal(expired.status, 410)
  t.match(await expired.text(), 'This link has expired')
})

t.test('declined consent: a page that says so, and the same link then works', async t => {
  const { url, upn } = await freshLink()
  fake.denyNextAuthorization()
  const before = codeGrants()
  const declined = await connectThrough(url, 'm365')
  t.equal(declined.callbackUrl.searchParams.get('error'), 'access_denied')
  t.equal(declined.status, 403)
  t.match(declined.html, 'Access was not allowed')
  t.match(declined.html, 'still works until')
  t.equal(codeGrants(), before, 'no token request for a declined sign-in')
  t.equal((await fetch(url)).status, 200, 'the link is still open')
  const done = await connectThrough(url, 'm365')
  t.equal(done.status, 200)
  t.match(done.html, upn)
})

t.test('forged, missing and replayed state: 400, and the token endpoint is not asked again', async t => {
  const before = codeGrants()
  for (const query of [`code=abc&state=${randomBytes(32).toString('base64url')}`, 'code=abc', 'code=abc&state=../../x', 'error=access_denied&state=nope']) {
    const res = await openCallback(`${publicUrl}/oauth/callback?${query}`)
    t.equal(res.status, 400, query)
    t.match(res.html, 'This sign-in cannot be completed')
  }
  t.equal(codeGrants(), before, 'no token request for a forged state')

  const { url } = await freshLink()
  const done = await connectThrough(url, 'm365')
  t.equal(done.status, 200)
  const afterOne = codeGrants()
  t.equal(afterOne, before + 1)
  for (let i = 0; i < 2; i++) t.equal((await openCallback(done.callbackUrl)).status, 400, 'replayed')
  // a forged code on a real, unused state is exchanged once (and fails there); its replay is not
  const authorize = await pressConnect((await freshLink()).url, 'm365')
  const forgedCode = new URL(`${publicUrl}/oauth/callback?code=forged&state=${authorize.searchParams.get('state') as string}`)
  const failed = await openCallback(forgedCode)
  t.equal(failed.status, 502)
  t.match(failed.html, 'did not complete the sign-in')
  t.equal(codeGrants(), afterOne + 1)
  t.equal((await openCallback(forgedCode)).status, 400)
  t.equal(codeGrants(), afterOne + 1, 'the token endpoint was not called a second time')
  t.notMatch(rt.logs(), /"code=|access_token|refresh_token/, 'no code or token in the logs')
})

t.test('two callbacks racing for one link: one connects, the other gets the used page', async t => {
  const { url, name } = await freshLink()
  const answers = await Promise.all([pressConnect(url, 'm365'), pressConnect(url, 'm365')].map(async p => await providerAnswer(await p)))
  const results = await Promise.all(answers.map(async a => await openCallback(a)))
  t.same(results.map(r => r.status).sort(), [200, 410])
  t.match(results.find(r => r.status === 410)?.html, 'already been used')
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM mailboxes WHERE name = $1', [name]), 1)
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM oauth_connections c JOIN mailboxes m ON m.id = c.mailbox_id WHERE m.name = $1', [name]), 1)
})

t.test('a new mailbox\'s name taken meanwhile: a 409 page, and the link stays open', async t => {
  const { url, name } = await freshLink()
  await apiOk(rt, 'POST', '/api/v1/mailboxes', { name, provider: 'imap', imap: { host: 'imap.example.com', user: 'x', password: 'secret-pw-1' } })
  const res = await connectThrough(url, 'm365')
  t.equal(res.status, 409)
  t.match(res.html, 'exists already')
  t.equal((await fetch(url)).status, 200, 'not used up')
})

t.test('a reconnect signed in as another account: refused, nothing changed', async t => {
  const { url, upn, name } = await freshLink()
  t.equal((await connectThrough(url, 'm365')).status, 200)
  const again = await newLink(rt, { mailbox: name, apps: ['m365'] })
  const authorize = await pressConnect(again, 'm365')
  t.equal(authorize.searchParams.get('login_hint'), upn, 'the login hint names the connected account')
  // the customer picks another account at the provider
  const other = 'someone-else@customer.example'
  fake.addMailbox(other)
  fake.signInAs(other)
  authorize.searchParams.delete('login_hint')
  const res = await openCallback(await providerAnswer(authorize))
  t.equal(res.status, 409)
  t.match(res.html, `reconnects ${upn}`)
  const { rows } = await rt.ctx.pool.query('SELECT c.account FROM oauth_connections c JOIN mailboxes m ON m.id = c.mailbox_id WHERE m.name = $1', [name])
  t.same(rows, [{ account: upn }])
  t.equal((await fetch(again)).status, 200, 'the link stays open')
})

t.test('a provider that does not answer: a page that says so, and the link stays open', async t => {
  await apiOk(rt, 'POST', '/api/v1/oauth-apps', { ...fakeApp(fake, 'microsoft-graph', { name: 'down' }), authorityHost: 'https://127.0.0.1:1' })
  const { url } = await freshLink(['down'])
  const page = await fetch(url)
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] as string
  const res = await fetch(url, {
    method: 'POST',
    headers: { cookie: page.headers.getSetCookie().map(c => c.split(';')[0]).join('; '), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, app: 'down' }).toString()
  })
  t.equal(res.status, 502)
  t.match(await res.text(), 'The sign-in page cannot be reached')
  t.equal((await fetch(url)).status, 200)
})
