/**
 * The OAuth protocol, all of it through openid-client: discovery (cached per
 * app), the authorization URL (code flow, PKCE S256, state, nonce), the code
 * exchange with ID-token validation, and the refresh grant. Nothing here
 * stores anything; errors carry no token.
 *
 * Microsoft with tenant `organizations` or `common` publishes the issuer
 * `https://…/{tenantid}/v2.0`: openid-client then checks the ID token's `iss`
 * against the one built from its own `tid`. It recognises that case by the
 * discovery URL's origin (Entra's global login host) only, so every
 * Microsoft app is discovered under that origin and fetched from its own
 * authority host (a national cloud, a test double).
 */
import { createHash } from 'node:crypto'
import * as oidc from 'openid-client'
import type { GrantedAccount, OAuthApp, TokenSet } from './types.ts'

const ENTRA = 'https://login.microsoftonline.com'
/** A token endpoint or discovery answer slower than this fails (openid-client's default: 30 s). */
const TIMEOUT_SECONDS = 20
/** Assumed when an answer does not say how long its access token lives. */
const DEFAULT_LIFETIME_SECONDS = 300
/** Discovered apps kept; the oldest goes first. */
const MAX_CONFIGURATIONS = 1000

/** Scopes per kind and access (docs/contract.md). */
export function scopesOf (app: OAuthApp): string {
  if (app.kind === 'google') return 'openid email https://mail.google.com/'
  return app.access === 'imap'
    ? 'openid profile email offline_access https://outlook.office.com/IMAP.AccessAsUser.All'
    : 'openid profile email offline_access Mail.ReadWrite'
}

/** A refresh answered `invalid_grant`: consent revoked, password reset, token expired. Retrying does not help. */
export class InvalidGrantError extends Error {
  constructor (message: string) { super(message); this.name = 'InvalidGrantError' }
}

/** The provider refused the app itself (`invalid_client`, `unauthorized_client`): a wrong or expired client secret. */
export class InvalidClientError extends Error {
  constructor (message: string) { super(message); this.name = 'InvalidClientError' }
}

/** One line about an OAuth failure: the provider's error code and description, never a token. */
export function describeOAuthError (err: unknown): string {
  if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) {
    return `${err.error}${err.error_description !== undefined ? `: ${err.error_description}` : ''}`.slice(0, 1000)
  }
  const e = err as { message?: string, cause?: { message?: string } }
  const cause = e.cause?.message !== undefined ? ` (${e.cause.message})` : ''
  return `${e.message ?? String(err)}${cause}`.slice(0, 1000)
}

const configurations = new Map<string, Promise<oidc.Configuration>>()

/** Same settings, same secret, same cached configuration; a changed app is discovered afresh. */
function cacheKey (app: OAuthApp): string {
  return createHash('sha256').update(JSON.stringify([app.kind, app.clientId, app.clientSecret, app.tenant, app.authorityHost, app.issuer])).digest('base64url')
}

async function discover (app: OAuthApp): Promise<oidc.Configuration> {
  const auth = oidc.ClientSecretPost(app.clientSecret)
  // ID tokens' signatures checked too (against the provider's JWKS), not only their claims
  const options = { timeout: TIMEOUT_SECONDS, execute: [oidc.enableNonRepudiationChecks] }
  if (app.kind === 'google') return await oidc.discovery(new URL(app.issuer!), app.clientId, undefined, auth, options)
  const host = app.authorityHost!
  const fromHost: oidc.CustomFetch = async (url, init) =>
    await fetch(url.startsWith(`${ENTRA}/`) ? host + url.slice(ENTRA.length) : url, init as RequestInit)
  const config = await oidc.discovery(new URL(`${ENTRA}/${app.tenant!}/v2.0`), app.clientId, undefined, auth,
    host === ENTRA ? options : { ...options, [oidc.customFetch]: fromHost })
  // the issuer must be the authority's own (openid-client lets Entra's differ from the discovery URL)
  const issuer = config.serverMetadata().issuer
  if (new URL(issuer).origin !== new URL(host).origin) throw new Error(`the authority ${host} names another issuer (${issuer})`)
  return config
}

/** The app's openid-client configuration, discovered once per process and app. */
async function configurationOf (app: OAuthApp): Promise<oidc.Configuration> {
  const key = cacheKey(app)
  let config = configurations.get(key)
  if (config === undefined) {
    config = discover(app)
    configurations.set(key, config)
    if (configurations.size > MAX_CONFIGURATIONS) configurations.delete(configurations.keys().next().value as string)
    // a failed discovery is tried again next time
    config.catch(() => { if (configurations.get(key) === config) configurations.delete(key) })
  }
  return await config
}

export interface AuthorizationRequest {
  redirectUri: string
  state: string
  codeVerifier: string
  nonce: string
  loginHint?: string
}

/** Where the customer's browser goes: the provider's authorization endpoint, code flow with PKCE S256. */
export async function buildAuthorizationUrl (app: OAuthApp, o: AuthorizationRequest): Promise<URL> {
  const config = await configurationOf(app)
  const params: Record<string, string> = {
    redirect_uri: o.redirectUri,
    scope: scopesOf(app),
    state: o.state,
    nonce: o.nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(o.codeVerifier),
    code_challenge_method: 'S256',
    ...(o.loginHint !== undefined ? { login_hint: o.loginHint } : {}),
    // Google returns a refresh token only for offline access, and again on a reconnect only with consent asked again
    ...(app.kind === 'google' ? { access_type: 'offline', prompt: 'consent' } : {})
  }
  return oidc.buildAuthorizationUrl(config, params)
}

export interface CodeExchange {
  /** The callback as requested (its query: code, state). */
  callbackUrl: URL
  /** The redirect URI of the authorization request (the public one, whatever the callback's host header said). */
  redirectUri: string
  expectedState: string
  codeVerifier: string
  nonce: string
}

function tokenSet (answer: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, previousRefreshToken?: string): TokenSet {
  const refreshToken = answer.refresh_token ?? previousRefreshToken
  if (refreshToken === undefined) throw new Error('the provider granted no refresh token (offline access not granted)')
  const expiresAt = new Date(Date.now() + (answer.expiresIn() ?? DEFAULT_LIFETIME_SECONDS) * 1000)
  return { accessToken: answer.access_token, refreshToken, expiresAt }
}

const isAddress = (v: unknown): v is string => typeof v === 'string' && /^[^@\s]+@[^@\s]+$/.test(v)

/**
 * The address of the account that granted access: Microsoft's
 * preferred_username (the sign-in name, which IMAP and Graph accept) or
 * email; Google's verified email. From the ID token, else from user info.
 */
function addressIn (app: OAuthApp, claims: Record<string, unknown>): string | undefined {
  if (app.kind === 'google') return claims.email_verified === false ? undefined : (isAddress(claims.email) ? claims.email : undefined)
  return [claims.preferred_username, claims.email].find(isAddress)
}

/** Redeems the code (state, PKCE and nonce checked, the ID token validated) for tokens and the account. */
export async function exchangeCode (app: OAuthApp, o: CodeExchange): Promise<{ tokens: TokenSet, account: GrantedAccount }> {
  const config = await configurationOf(app)
  // openid-client sends the URL it is given (without its query) as redirect_uri
  const current = new URL(o.redirectUri)
  current.search = o.callbackUrl.search
  const answer = await oidc.authorizationCodeGrant(config, current, {
    pkceCodeVerifier: o.codeVerifier, expectedState: o.expectedState, expectedNonce: o.nonce, idTokenExpected: true
  })
  const claims = answer.claims()!
  let account = addressIn(app, claims)
  if (account === undefined && config.serverMetadata().userinfo_endpoint !== undefined) {
    account = addressIn(app, await oidc.fetchUserInfo(config, answer.access_token, claims.sub))
  }
  if (account === undefined) throw new Error(`${app.kind === 'google' ? 'Google' : 'Microsoft'} did not tell the account's address`)
  const tenantId = typeof claims.tid === 'string' ? claims.tid : null
  return { tokens: tokenSet(answer), account: { account, subject: claims.sub, tenantId } }
}

/**
 * New tokens for a refresh token. The answer's refresh token replaces the
 * old one (rotation); an answer without one keeps it. `invalid_grant` →
 * InvalidGrantError; a refused client → InvalidClientError.
 */
export async function refreshTokens (app: OAuthApp, refreshToken: string): Promise<TokenSet> {
  const config = await configurationOf(app)
  try {
    // Microsoft asks for the scopes again; Google keeps those granted
    const answer = await oidc.refreshTokenGrant(config, refreshToken, app.kind === 'microsoft' ? { scope: scopesOf(app) } : undefined)
    return tokenSet(answer, refreshToken)
  } catch (err) {
    if (err instanceof oidc.ResponseBodyError && err.error === 'invalid_grant') throw new InvalidGrantError(describeOAuthError(err))
    if (err instanceof oidc.ResponseBodyError && (err.error === 'invalid_client' || err.error === 'unauthorized_client')) {
      throw new InvalidClientError(`${app.name}: ${describeOAuthError(err)}`)
    }
    throw new Error(`token refresh at ${app.name} failed: ${describeOAuthError(err)}`)
  }
}
