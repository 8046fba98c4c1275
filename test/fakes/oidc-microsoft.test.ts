// openid-client 6 driving the fake Microsoft identity platform as mailslot's
// connect flow does: discovery, authorization code + PKCE + nonce, signed ID
// tokens (JWKS), refresh with rotation; then the delegated token on Graph.
import t from 'tap'
import * as client from 'openid-client'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { startFakeGraph } from './graph/index.ts'

const fake = await startFakeGraph()
t.teardown(() => fake.close())
const alice = fake.addMailbox('alice@contoso.example')
const REDIRECT = 'http://127.0.0.1:9/oauth/callback'
const GRAPH_SCOPES = 'openid profile email offline_access Mail.ReadWrite'
const ENTRA = 'https://login.microsoftonline.com'

/**
 * openid-client accepts Entra's `{tenantid}` issuer only for discovery URLs on
 * login.microsoftonline.com (it then checks each ID token's `iss` against the
 * template filled with the token's `tid`). For another authority host
 * (national cloud, this fake) discover that URL and send the request elsewhere.
 */
function discoverMicrosoft (authorityHost: string, tenant: string, clientId = fake.clientId, secret = fake.clientSecret) {
  return client.discovery(new URL(`${ENTRA}/${tenant}/v2.0`), clientId, secret, undefined, {
    [client.customFetch]: (url: string, options: client.CustomFetchOptions) => fetch(url.startsWith(`${ENTRA}/`) ? authorityHost + url.slice(ENTRA.length) : url, options as RequestInit),
    execute: [client.enableNonRepudiationChecks], // also verify ID token signatures against the JWKS
  })
}

/** The browser's part: follow /authorize to its redirect and return the callback URL. */
async function signIn (config: client.Configuration, params: Record<string, string>): Promise<URL> {
  const res = await fetch(client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, ...params }), { redirect: 'manual' })
  t.equal(res.status, 302)
  return new URL(res.headers.get('location')!)
}

async function connect (config: client.Configuration, scope = GRAPH_SCOPES, loginHint = alice.upn) {
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const callback = await signIn(config, {
    scope, state, nonce, login_hint: loginHint, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  })
  return await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce })
}

t.test('multi-tenant (organizations): {tenantid} issuer, ID token checked against its tid', async (t) => {
  const doc = await (await fetch(`${fake.url}/organizations/v2.0/.well-known/openid-configuration`)).json() as Record<string, string>
  t.equal(doc.issuer, `${fake.url}/{tenantid}/v2.0`, 'the literal {tenantid}, as at Microsoft')
  await t.rejects(client.discovery(new URL(`${fake.url}/organizations/v2.0`), fake.clientId, fake.clientSecret), /issuer does not match/,
    'plain discovery refuses it: the client must handle the template')

  const config = await discoverMicrosoft(fake.url, 'organizations')
  const tokens = await connect(config)
  const claims = tokens.claims()!
  t.match(claims, {
    iss: `${fake.url}/${fake.tenantId}/v2.0`, tid: fake.tenantId, oid: alice.id, aud: fake.clientId, ver: '2.0',
    preferred_username: alice.upn, email: alice.upn, name: 'alice', sub: /^[\w-]{43}$/,
  })
  t.ok(claims.nonce, 'nonce echoed (openid-client compared it)')
  t.ok(tokens.refresh_token, 'offline_access: a refresh token')
  t.equal(tokens.expires_in, 3599)

  // The signature verifies against the published JWKS.
  const { jwks_uri: jwksUri } = config.serverMetadata()
  const jwks = createRemoteJWKSet(new URL(jwksUri!))
  const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, jwks, { audience: fake.clientId, issuer: claims.iss })
  t.equal(protectedHeader.alg, 'RS256')
  t.equal(payload.sub, claims.sub)
  const keys = await (await fetch(jwksUri!)).json() as { keys: Array<Record<string, string>> }
  t.match(keys.keys[0], { kty: 'RSA', use: 'sig', kid: protectedHeader.kid, issuer: `${fake.url}/{tenantid}/v2.0` })

  // The same sub every time for this app; another app sees another (pairwise) sub.
  t.equal((await connect(config)).claims()!.sub, claims.sub, 'sub is stable')
  const other = fake.addApp()
  const otherTokens = await connect(await discoverMicrosoft(fake.url, 'common', other.clientId, other.clientSecret))
  t.not(otherTokens.claims()!.sub, claims.sub, 'pairwise per app')
  t.equal(otherTokens.claims()!.oid, alice.id)

  // A user of another tenant: iss carries that tenant, checked against its tid.
  const carol = fake.addMailbox('carol@fabrikam.example', { tenantId: '11111111-2222-3333-4444-555555555555' })
  const fromOtherTenant = await connect(config, GRAPH_SCOPES, carol.upn)
  t.match(fromOtherTenant.claims(), { tid: carol.tenantId, iss: `${fake.url}/${carol.tenantId}/v2.0` }, 'any tenant may sign in to a multi-tenant app')
})

t.test('single tenant: plain discovery works; the delegated token reads only that mailbox', async (t) => {
  const config = await client.discovery(new URL(`${fake.url}/${fake.tenantId}/v2.0`), fake.clientId, fake.clientSecret)
  const tokens = await connect(config)
  t.equal(tokens.claims()!.iss, `${fake.url}/${fake.tenantId}/v2.0`)
  const get = (path: string, token = tokens.access_token) => fetch(`${fake.url}/v1.0${path}`, { headers: { authorization: `Bearer ${token}` } })
  t.equal((await get('/me/mailFolders')).status, 200, '/me')
  t.equal((await get(`/users/${alice.upn}/mailFolders('Inbox')/messages`)).status, 200, '/users/{upn}')
  t.equal((await get(`/users/${alice.id}/messages`)).status, 200, '/users/{id}')
  const bob = fake.addMailbox('bob@contoso.example')
  t.equal((await get(`/users/${bob.id}/messages`)).status, 403, 'another mailbox: 403')

  // Scopes matter: Mail.Read reads but does not change mail; no Mail scope reads nothing.
  const readOnly = fake.issueTokens({ user: alice.upn, scope: 'openid offline_access https://graph.microsoft.com/Mail.Read' })
  const id = alice.addMessage('Inbox', 'Subject: hi\r\n\r\nbody\r\n').id
  t.equal((await get(`/me/messages/${id}`, readOnly.access_token)).status, 200)
  const patch = await fetch(`${fake.url}/v1.0/me/messages/${id}`, { method: 'PATCH', headers: { authorization: `Bearer ${readOnly.access_token}`, 'content-type': 'application/json' }, body: '{"isRead":true}' })
  t.equal(patch.status, 403, 'Mail.Read cannot mark read')
  const profileOnly = fake.issueTokens({ user: alice.upn, scope: 'openid profile User.Read' })
  t.equal((await get('/me', profileOnly.access_token)).status, 200, 'profile')
  t.equal((await get('/me/messages', profileOnly.access_token)).status, 403, 'no Mail scope, no mail')
})

t.test('refresh rotates; a spent or revoked refresh token is refused and logged', async (t) => {
  const config = await discoverMicrosoft(fake.url, 'organizations')
  const first = await connect(config)
  fake.resetStats()
  const second = await client.refreshTokenGrant(config, first.refresh_token!, { scope: GRAPH_SCOPES })
  t.not(second.refresh_token, first.refresh_token, 'rotated')
  t.equal(second.claims()!.oid, alice.id, 'ID token on refresh too')
  const reused = await client.refreshTokenGrant(config, first.refresh_token!).catch((err: unknown) => err)
  t.match(reused, { error: 'invalid_grant', error_description: /^AADSTS70008:/ })
  t.match(fake.tokenRequests, [
    { provider: 'microsoft', grantType: 'refresh_token', status: 200, refreshToken: first.refresh_token, refreshTokenState: 'active' },
    { provider: 'microsoft', grantType: 'refresh_token', status: 400, error: 'invalid_grant', refreshToken: first.refresh_token, refreshTokenState: 'rotated' },
  ])

  // Two refreshes racing with the same token: one wins, the other is refused.
  const race = await Promise.allSettled([0, 1].map(() => client.refreshTokenGrant(config, second.refresh_token!)))
  t.same(race.map((r) => r.status).sort(), ['fulfilled', 'rejected'])
  t.equal(fake.tokenRequests.filter((r) => r.refreshTokenState === 'rotated').length, 2, 'every reuse of a spent token is visible')

  const latest = (race.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<client.TokenEndpointResponse>).value
  fake.revokeGrants(alice.upn)
  t.match(await client.refreshTokenGrant(config, latest.refresh_token!).catch((err: unknown) => err), { error: 'invalid_grant', error_description: /^AADSTS50173:/ })
  const me = await fetch(`${fake.url}/v1.0/me`, { headers: { authorization: `Bearer ${latest.access_token}` } })
  t.equal(me.status, 401, 'revoked access token')
  t.match(await me.json(), { error: { code: 'InvalidAuthenticationToken' } })
  t.match(fake.requests.at(-1), { token: /^at-\d+$/, status: 401, tokenError: /TokenIssuedBeforeRevocationTimestamp/ }, 'the refused use is logged with its token')
  t.ok((await connect(config)).access_token, 'a new consent works again')
})

t.test('short token lifetimes: expired tokens are refused with 401, refresh gets a working one', async (t) => {
  fake.tokenLifetimeSeconds = 1
  t.teardown(() => { fake.tokenLifetimeSeconds = 3599 })
  const config = await discoverMicrosoft(fake.url, 'organizations')
  const tokens = await connect(config)
  t.equal(tokens.expires_in, 1)
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const expired = await fetch(`${fake.url}/v1.0/me/messages`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.equal(expired.status, 401)
  t.match(fake.requests.at(-1), { status: 401, tokenError: 'Lifetime validation failed, the token is expired.' })
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!)
  t.equal((await fetch(`${fake.url}/v1.0/me/messages`, { headers: { authorization: `Bearer ${refreshed.access_token}` } })).status, 200)
})

t.test('IMAP tokens: Outlook audience, refused by Graph, active for introspection', async (t) => {
  const config = await discoverMicrosoft(fake.url, 'organizations')
  const tokens = await connect(config, 'openid profile email offline_access https://outlook.office.com/IMAP.AccessAsUser.All')
  t.equal(tokens.scope, 'https://outlook.office.com/IMAP.AccessAsUser.All')
  const graph = await fetch(`${fake.url}/v1.0/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.equal(graph.status, 401)
  t.match(fake.requests.at(-1), { tokenError: /Invalid audience/ })
  t.match(fake.introspect(tokens.access_token), { active: true, username: alice.upn, sub: alice.id, client_id: fake.clientId })

  const graphToken = fake.issueTokens({ user: alice.upn })
  t.same(fake.introspect(graphToken.access_token), { active: false }, 'a Graph token cannot log in to IMAP')
  t.same(fake.introspect('nonsense'), { active: false })
  t.match(fake.introspections.at(-2), { active: false, reason: 'no IMAP scope', account: alice.upn })

  const mixed = await fetch(`${fake.url}/common/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: fake.clientId, client_secret: fake.clientSecret, refresh_token: tokens.refresh_token!, scope: 'Mail.ReadWrite https://outlook.office.com/IMAP.AccessAsUser.All' }),
  })
  t.match(await mixed.json(), { error: 'invalid_scope', error_codes: [28000] }, 'one resource per token')
})
