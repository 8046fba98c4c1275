// The fake identity platform driven by the real @azure/identity, plus the
// delegated (auth code + PKCE, refresh rotation) flows over plain fetch.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { AuthorizationCodeCredential, ClientSecretCredential } from '@azure/identity'
import { startFakeGraph } from './graph/index.ts'
import { GRAPH_SCOPE, credentialFor, graphClientFor } from './graph/clients.ts'

const fake = await startFakeGraph()
t.teardown(() => fake.close())
const alice = fake.addMailbox('alice@contoso.example')

const post = async (path: string, form: Record<string, string>) => {
  const res = await fetch(`${fake.url}${path}`, { method: 'POST', body: new URLSearchParams(form) })
  return { status: res.status, json: await res.json() as any }
}

t.test('ClientSecretCredential gets a token and the Graph client reuses it', async (t) => {
  fake.resetStats()
  const credential = credentialFor(fake)
  const token = await credential.getToken(GRAPH_SCOPE)
  t.ok(token.token.split('.').length === 3, 'JWT-shaped access token')
  t.ok(token.expiresOnTimestamp > Date.now() + 3000_000, 'expires_in honoured')
  const client = graphClientFor(fake, credential)
  for (let i = 0; i < 3; i++) await client.api(`/users/${alice.id}`).get()
  t.equal(fake.requests.filter((r) => r.path.includes('/oauth2/v2.0/token')).length, 1, 'one token request')
  t.same(new Set(fake.requests.filter((r) => r.path.startsWith('/v1.0/')).map((r) => r.token)).size, 1, 'same token on every call')
  t.ok(fake.requests.some((r) => r.path === `/${fake.tenantId}/v2.0/.well-known/openid-configuration`), 'OIDC discovery served by the fake')
})

t.test('a bad client secret is rejected with invalid_client / AADSTS7000215', async (t) => {
  const credential = new ClientSecretCredential(fake.tenantId, fake.clientId, 'wrong', { authorityHost: fake.url, disableInstanceDiscovery: true })
  await t.rejects(credential.getToken(GRAPH_SCOPE), /7000215|invalid_client/)
  const raw = await post(`/${fake.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', client_id: fake.clientId, client_secret: 'wrong', scope: GRAPH_SCOPE })
  t.equal(raw.status, 401)
  t.match(raw.json, { error: 'invalid_client', error_codes: [7000215] })
})

t.test('token endpoint rejects unknown apps, wrong tenants, bad scopes, unknown grants', async (t) => {
  const base = { grant_type: 'client_credentials', client_id: fake.clientId, client_secret: fake.clientSecret, scope: GRAPH_SCOPE }
  t.match((await post(`/${fake.tenantId}/oauth2/v2.0/token`, { ...base, client_id: 'nope' })).json, { error: 'unauthorized_client', error_codes: [700016] })
  t.match((await post('/common/oauth2/v2.0/token', base)).json, { error: 'unauthorized_client' })
  t.match((await post(`/${fake.tenantId}/oauth2/v2.0/token`, { ...base, scope: 'Mail.Read' })).json, { error: 'invalid_scope' })
  t.match((await post(`/${fake.tenantId}/oauth2/v2.0/token`, { ...base, client_secret: '' })).json, { error: 'invalid_client' })
  t.match((await post(`/${fake.tenantId}/oauth2/v2.0/token`, { ...base, grant_type: 'password' })).json, { error: 'unsupported_grant_type' })
  const unknownTenant = await fetch(`${fake.url}/00000000-0000-0000-0000-000000000001/v2.0/.well-known/openid-configuration`)
  t.equal(unknownTenant.status, 400)
  // client_secret_basic works too
  const basic = await fetch(`${fake.url}/${fake.tenantId}/oauth2/v2.0/token`, {
    method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${fake.clientId}:${encodeURIComponent(fake.clientSecret)}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: GRAPH_SCOPE }),
  })
  t.equal(basic.status, 200)
})

t.test('a second app registered with addApp gets its own tokens', async (t) => {
  const other = fake.addApp({ clientSecret: 'other-secret' })
  const token = await credentialFor(fake, other).getToken(GRAPH_SCOPE)
  t.ok(token.token)
  t.equal(other.tenantId, fake.tenantId)
})

t.test('invalidated tokens answer 401 InvalidAuthenticationToken; a new credential recovers', async (t) => {
  const client = graphClientFor(fake)
  await client.api(`/users/${alice.id}`).get()
  fake.faults.invalidateTokens()
  await t.rejects(client.api(`/users/${alice.id}`).get(), { statusCode: 401, code: 'InvalidAuthenticationToken' })
  t.match(await graphClientFor(fake).api(`/users/${alice.upn}`).get(), { id: alice.id, userPrincipalName: alice.upn })
  const noToken = await fetch(`${fake.url}/v1.0/users/${alice.id}`)
  t.equal(noToken.status, 401)
})

t.test('authorization code with PKCE, then refresh-token rotation', async (t) => {
  const redirectUri = 'http://127.0.0.1:1/callback'
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const authorizeUrl = new URL(`${fake.url}/organizations/oauth2/v2.0/authorize`)
  for (const [k, v] of Object.entries({ client_id: fake.clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'offline_access openid https://graph.microsoft.com/Mail.ReadWrite', state: 'xyz', code_challenge: challenge, code_challenge_method: 'S256', login_hint: alice.upn })) authorizeUrl.searchParams.set(k, v)
  const redirect = await fetch(authorizeUrl, { redirect: 'manual' })
  t.equal(redirect.status, 302)
  const back = new URL(redirect.headers.get('location')!)
  t.equal(back.searchParams.get('state'), 'xyz')
  const code = back.searchParams.get('code')!
  t.equal(fake.authorizeRequests.at(-1)?.code_challenge, challenge, 'authorize request recorded')

  const redeem = { grant_type: 'authorization_code', client_id: fake.clientId, client_secret: fake.clientSecret, code, redirect_uri: redirectUri }
  t.match((await post('/organizations/oauth2/v2.0/token', { ...redeem, code_verifier: 'wrong' })).json, { error: 'invalid_grant', error_codes: [501481] })
  t.match((await post('/organizations/oauth2/v2.0/token', { ...redeem, redirect_uri: 'http://elsewhere/' })).json, { error: 'invalid_grant' })
  const tokens = await post('/organizations/oauth2/v2.0/token', { ...redeem, code_verifier: verifier, client_info: '1' })
  t.equal(tokens.status, 200)
  t.match(tokens.json, { token_type: 'Bearer', scope: 'https://graph.microsoft.com/Mail.ReadWrite', refresh_token: String, id_token: String, client_info: String })
  t.match((await post('/organizations/oauth2/v2.0/token', { ...redeem, code_verifier: verifier })).json, { error: 'invalid_grant', error_codes: [54005] }, 'a code works once')

  // The delegated token reads /me, and only that mailbox.
  const me = await fetch(`${fake.url}/v1.0/me/mailFolders`, { headers: { authorization: `Bearer ${tokens.json.access_token}` } })
  t.equal(me.status, 200)
  const bob = fake.addMailbox('bob@contoso.example')
  const other = await fetch(`${fake.url}/v1.0/users/${bob.id}/mailFolders`, { headers: { authorization: `Bearer ${tokens.json.access_token}` } })
  t.equal(other.status, 403)

  const refresh = { grant_type: 'refresh_token', client_id: fake.clientId, client_secret: fake.clientSecret, refresh_token: tokens.json.refresh_token }
  const rotated = await post('/common/oauth2/v2.0/token', refresh)
  t.equal(rotated.status, 200)
  t.not(rotated.json.refresh_token, tokens.json.refresh_token, 'a new refresh token')
  t.match((await post('/common/oauth2/v2.0/token', refresh)).json, { error: 'invalid_grant' }, 'the old one is spent')
  t.match((await post('/common/oauth2/v2.0/token', { ...refresh, refresh_token: 'unknown' })).json, { error: 'invalid_grant' })
  fake.revokeRefreshTokens(alice.upn)
  t.match((await post('/common/oauth2/v2.0/token', { ...refresh, refresh_token: rotated.json.refresh_token })).json, { error: 'invalid_grant' }, 'revoked')
})

t.test('authorize: method form, signInAs, denial and bad requests', async (t) => {
  const code = fake.authorize({ clientId: fake.clientId, redirectUri: 'https://app.example/cb', scope: 'https://graph.microsoft.com/Mail.Read', user: alice.upn })
  const tokens = await post('/common/oauth2/v2.0/token', { grant_type: 'authorization_code', client_id: fake.clientId, client_secret: fake.clientSecret, code, redirect_uri: 'https://app.example/cb' })
  t.equal(tokens.status, 200)
  t.notOk(tokens.json.refresh_token, 'no offline_access, no refresh token')

  const url = (extra: Record<string, string> = {}) => `${fake.url}/common/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: fake.clientId, response_type: 'code', redirect_uri: 'https://app.example/cb', state: 's', ...extra })}`
  fake.signInAs(alice.id)
  t.ok(new URL((await fetch(url(), { redirect: 'manual' })).headers.get('location')!).searchParams.get('code'))
  fake.denyNextAuthorization()
  const denied = new URL((await fetch(url(), { redirect: 'manual' })).headers.get('location')!)
  t.equal(denied.searchParams.get('error'), 'access_denied')
  fake.signInAs(undefined)
  t.equal(new URL((await fetch(url(), { redirect: 'manual' })).headers.get('location')!).searchParams.get('error'), 'access_denied', 'nobody to sign in')
  t.equal((await fetch(url({ client_id: 'nope' }), { redirect: 'manual' })).status, 400)
  t.equal((await fetch(url({ response_type: 'token' }), { redirect: 'manual' })).status, 400)
  t.equal((await fetch(`${fake.url}/common/oauth2/v2.0/authorize?client_id=${fake.clientId}`, { redirect: 'manual' })).status, 400)
  t.equal((await fetch(`${fake.url}/common/discovery/v2.0/keys`)).status, 200)
  t.equal((await fetch(`${fake.url}/common/oauth2/v2.0/token`)).status, 405)
  t.throws(() => fake.authorize({ clientId: 'nope', redirectUri: 'x', scope: '', user: alice.id }))
})

t.test('MSAL redeems a code for organizations ({tenantid} issuer) and for the tenant', async (t) => {
  for (const tenant of ['organizations', fake.tenantId]) {
    const code = fake.authorize({ clientId: fake.clientId, redirectUri: 'http://localhost/cb', scope: 'openid profile offline_access Mail.ReadWrite', user: alice.upn })
    const credential = new AuthorizationCodeCredential(tenant, fake.clientId, fake.clientSecret, code, 'http://localhost/cb', {
      authorityHost: fake.url, disableInstanceDiscovery: true,
    })
    const { token } = await credential.getToken('Mail.ReadWrite')
    t.equal((await fetch(`${fake.url}/v1.0/me/messages`, { headers: { authorization: `Bearer ${token}` } })).status, 200, tenant)
  }
})

t.test('trustFakeCa is what makes the SDKs trust the fake, in-process (checked in a clean child process)', async (t) => {
  const graphIndex = fileURLToPath(new URL('./graph/index.ts', import.meta.url))
  const script = `
    import https from 'node:https'
    import { startFakeGraph, trustFakeCa } from ${JSON.stringify(graphIndex)}
    const fake = await startFakeGraph({ trustCa: false })
    const url = fake.url + '/common/v2.0/.well-known/openid-configuration'
    const viaFetch = () => fetch(url).then((r) => 'ok ' + r.status, (e) => 'fail ' + (e.cause?.code ?? e.message))
    const viaHttps = () => new Promise((resolve) => https.get(url, (r) => { r.resume(); resolve('ok ' + r.statusCode) }).on('error', (e) => resolve('fail ' + e.code)))
    const before = [await viaFetch(), await viaHttps()]
    trustFakeCa(fake.ca)
    const after = [await viaFetch(), await viaHttps()]
    await fake.close()
    console.log(JSON.stringify({ before, after }))`
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } })
  const { before, after } = JSON.parse(stdout.trim().split('\n').at(-1)!)
  t.match(before, [/^fail .*(SELF_SIGNED|CERT)/, /^fail .*(SELF_SIGNED|CERT)/], 'untrusted at first')
  t.same(after, ['ok 200', 'ok 200'], 'fetch (Graph client) and node:https (@azure/identity) trust it afterwards')
})
