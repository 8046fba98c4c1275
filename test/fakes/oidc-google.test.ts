// openid-client 6 driving the fake Google (issuer <fake>/google): discovery,
// code + PKCE + nonce, offline access rules, refresh without (or with)
// rotation, userinfo, RFC 7009 revocation, signed ID tokens.
import t from 'tap'
import * as client from 'openid-client'
import { startFakeGraph } from './graph/index.ts'

const fake = await startFakeGraph()
t.teardown(() => fake.close())
const google = fake.google
const carol = google.addUser('carol@customer.example')
const REDIRECT = 'http://127.0.0.1:9/oauth/callback'
const SCOPES = 'openid email https://mail.google.com/'
const config = await client.discovery(new URL(google.issuer), google.clientId, google.clientSecret, undefined, {
  execute: [client.enableNonRepudiationChecks], // verify ID token signatures against the JWKS
})

async function connect (extra: Record<string, string> = { access_type: 'offline', prompt: 'consent' }, user = carol.email) {
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: SCOPES, state, nonce, login_hint: user,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  })
  const res = await fetch(url, { redirect: 'manual' })
  const callback = new URL(res.headers.get('location')!)
  return await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce })
}

const post = async (path: string, form: Record<string, string>) => {
  const res = await fetch(`${google.issuer}${path}`, { method: 'POST', body: new URLSearchParams(form) })
  return { status: res.status, json: await res.json() as Record<string, unknown> }
}

t.test('discovery, code flow with PKCE, signed ID token with email claims', async (t) => {
  t.equal(config.serverMetadata().issuer, google.issuer)
  t.match(config.serverMetadata(), { revocation_endpoint: `${google.issuer}/revoke`, userinfo_endpoint: `${google.issuer}/v1/userinfo` })
  t.ok(config.serverMetadata().supportsPKCE(), 'code_challenge_methods_supported lists S256')
  const tokens = await connect()
  t.match(tokens.claims(), { iss: google.issuer, aud: google.clientId, azp: google.clientId, sub: carol.sub, email: carol.email, email_verified: true, hd: 'customer.example' })
  t.match(tokens.access_token, /^ya29\./)
  t.match(tokens.refresh_token, /^1\/\/0/)
  t.equal(tokens.scope, 'openid https://www.googleapis.com/auth/userinfo.email https://mail.google.com/', 'short names in URL form')
  t.match(google.authorizeRequests.at(-1), { login_hint: carol.email, access_type: 'offline', prompt: 'consent', code_challenge_method: 'S256' })

  const info = await client.fetchUserInfo(config, tokens.access_token, carol.sub)
  t.match(info, { sub: carol.sub, email: carol.email, email_verified: true })
  const gmail = google.addUser('dave@gmail.com')
  t.notOk((await connect(undefined, gmail.email)).claims()!.hd, 'no hd for consumer accounts')
})

t.test('a refresh token only with access_type=offline and prompt=consent', async (t) => {
  t.notOk((await connect({})).refresh_token, 'online access: none')
  t.notOk((await connect({ access_type: 'offline' })).refresh_token, 'offline without prompt=consent: none')
  t.ok((await connect({ access_type: 'offline', prompt: 'select_account consent' })).refresh_token)
})

t.test('refresh keeps the refresh token by default; rotation on request', async (t) => {
  const tokens = await connect()
  fake.resetStats()
  const again = await client.refreshTokenGrant(config, tokens.refresh_token!)
  t.notOk(again.refresh_token, 'Google sends no new refresh token')
  t.not(again.access_token, tokens.access_token)
  t.equal(again.claims()!.sub, carol.sub)
  t.ok(await client.refreshTokenGrant(config, tokens.refresh_token!), 'the same refresh token works again')
  t.match(fake.tokenRequests, [{ provider: 'google', grantType: 'refresh_token', refreshTokenState: 'active' }, { refreshTokenState: 'active' }])

  google.rotateRefreshTokens = true
  t.teardown(() => { google.rotateRefreshTokens = false })
  const rotated = await client.refreshTokenGrant(config, tokens.refresh_token!)
  t.ok(rotated.refresh_token)
  const reused = await client.refreshTokenGrant(config, tokens.refresh_token!).catch((err: unknown) => err)
  t.match(reused, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' })
  t.equal(fake.tokenRequests.at(-1)?.refreshTokenState, 'rotated')
})

t.test('token endpoint refusals in Google wording', async (t) => {
  const verifier = client.randomPKCECodeVerifier()
  const base = { grant_type: 'authorization_code', client_id: google.clientId, client_secret: google.clientSecret, redirect_uri: REDIRECT }
  const codeChallenge = await client.calculatePKCECodeChallenge(verifier)
  const pkce = google.authorize({ redirectUri: REDIRECT, scope: SCOPES, user: carol.email, codeChallenge })
  t.match((await post('/token', { ...base, code: pkce })).json, { error: 'invalid_grant', error_description: 'Missing code verifier.' })
  t.match((await post('/token', { ...base, code: pkce, code_verifier: 'x'.repeat(43) })).json, { error: 'invalid_grant', error_description: 'Invalid code verifier.' })
  t.match((await post('/token', { ...base, code: pkce, code_verifier: verifier, redirect_uri: 'http://elsewhere/' })).json, { error: 'redirect_uri_mismatch' })
  t.equal((await post('/token', { ...base, code: pkce, code_verifier: verifier })).status, 200)
  t.match((await post('/token', { ...base, code: pkce, code_verifier: verifier })).json, { error: 'invalid_grant' }, 'a code works once')
  t.match((await post('/token', { ...base, code: 'nope' })).json, { error: 'invalid_grant', error_description: 'Malformed auth code.' })
  t.match(await post('/token', { ...base, client_secret: 'wrong', code: 'x' }), { status: 401, json: { error: 'invalid_client' } })
  t.match(await post('/token', { ...base, client_id: 'nope', code: 'x' }), { status: 401, json: { error: 'invalid_client' } })
  t.match((await post('/token', { ...base, grant_type: 'password' })).json, { error: 'unsupported_grant_type' })
  t.match((await post('/token', { ...base, grant_type: 'refresh_token', refresh_token: 'nope' })).json, { error: 'invalid_grant' })
})

t.test('authorization endpoint: errors stay at Google, denial goes back to the app', async (t) => {
  const url = (extra: Record<string, string | undefined>) => {
    const params = { client_id: google.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: SCOPES, state: 's', ...extra }
    return `${google.issuer}/o/oauth2/v2/auth?${new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined) as Array<[string, string]>)}`
  }
  const location = async (extra: Record<string, string | undefined>) => new URL((await fetch(url(extra), { redirect: 'manual' })).headers.get('location')!)
  t.equal((await fetch(url({ client_id: 'nope' }), { redirect: 'manual' })).status, 401)
  t.equal((await fetch(url({ scope: undefined }), { redirect: 'manual' })).status, 400)
  t.equal((await fetch(url({ response_type: 'token' }), { redirect: 'manual' })).status, 400)
  t.equal((await fetch(url({ code_challenge: 'x', code_challenge_method: 'S512' }), { redirect: 'manual' })).status, 400)
  google.denyNextAuthorization()
  const denied = await location({ login_hint: carol.email })
  t.same([denied.searchParams.get('error'), denied.searchParams.get('state')], ['access_denied', 's'])
  t.equal((await location({ login_hint: 'nobody@customer.example' })).searchParams.get('error'), 'access_denied', 'unknown account')
  t.equal((await location({})).searchParams.get('error'), 'access_denied', 'nobody signed in')
  google.signInAs(carol.email)
  t.teardown(() => google.signInAs(undefined))
  t.ok((await location({})).searchParams.get('code'), 'signInAs without login_hint')
  t.equal((await fetch(`${google.issuer}/nothing`)).status, 404)
})

t.test('revocation: RFC 7009 endpoint and revokeGrants end every token of the grant', async (t) => {
  const tokens = await connect()
  t.equal((await post('/revoke', { token: tokens.refresh_token! })).status, 200)
  t.match(await client.refreshTokenGrant(config, tokens.refresh_token!).catch((err: unknown) => err), { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' })
  t.match(await client.fetchUserInfo(config, tokens.access_token, carol.sub).catch((err: unknown) => err), { status: 401 }, 'its access token too')
  t.match(await post('/revoke', { token: tokens.refresh_token! }), { status: 400, json: { error: 'invalid_token' } }, 'already revoked')

  const next = await connect()
  t.match(fake.introspect(next.access_token), { active: true, username: carol.email, sub: carol.sub })
  fake.revokeGrants(carol.email)
  t.same(fake.introspect(next.access_token), { active: false })
  t.match(await client.refreshTokenGrant(config, next.refresh_token!).catch((err: unknown) => err), { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' })
  t.throws(() => fake.revokeGrants('stranger@nowhere.example'))

  const graph = await fetch(`${fake.url}/v1.0/me`, { headers: { authorization: `Bearer ${(await connect()).access_token}` } })
  t.equal(graph.status, 401, 'Google tokens mean nothing to Graph')
})

t.test('issueTokens mints a grant without the browser steps', async (t) => {
  const tokens = google.issueTokens({ user: carol.email })
  t.match(tokens, { token_type: 'Bearer', refresh_token: String, id_token: String, scope: /https:\/\/mail\.google\.com\// })
  t.ok((await client.refreshTokenGrant(config, tokens.refresh_token!)).access_token)
  const second = google.addApp()
  t.throws(() => google.issueTokens({ user: carol.email, clientId: 'nope' }))
  t.equal(google.issueTokens({ user: carol.email, clientId: second.clientId }).token_type, 'Bearer')
})
