// The identity platform endpoints (login.microsoftonline.com look-alike):
// OIDC discovery, JWKS, /token (client credentials, auth code + PKCE, refresh
// with rotation) and /authorize. Paths: /{tenant}/v2.0/..., /{tenant}/oauth2/v2.0/...
import { createHash, randomUUID } from 'node:crypto'
import type { ConsentPages } from './consent.ts'
import { type ClientAuth, type Ctx, type OAuthAnswer, aadErrorBody, answerTokenRequest, oauthError, redirectBack, send } from './http.ts'
import { type Mailbox, type MailStore, isGuid } from './mailstore.ts'
import { signJwt, signingKey } from './signing.ts'
import { type App, type Grant, type TokenRequest, type TokenResponse, type TokenStore, GRAPH_AUDIENCE, grantOf } from './tokens.ts'

export interface AuthorizeRequest {
  clientId: string; redirectUri: string; scope: string; user: string
  tenant?: string; state?: string; nonce?: string; codeChallenge?: string; codeChallengeMethod?: string
}

const MULTI_TENANT = new Set(['common', 'organizations', 'consumers'])
const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access'])
/** The tenant of personal Microsoft accounts: the issuer of `consumers`. */
const CONSUMERS_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad'
const DECLINED = 'AADSTS65004: User declined to consent to access the app.'

const error = (status: number, code: string, aadsts: number, description: string): OAuthAnswer =>
  ({ status, body: aadErrorBody(code, aadsts, description) })

export class Identity {
  readonly authorizeLog: Array<Record<string, string>> = []
  /** who "signs in" at /authorize when the request has no login_hint */
  signInAs: string | undefined
  /** next /authorize answers with this error instead of a code (consent denied...) */
  nextAuthorizeError: { error: string; description: string } | undefined
  private readonly tokens: TokenStore
  private readonly store: MailStore
  private readonly consent: ConsentPages
  private readonly baseUrl: () => string

  constructor (tokens: TokenStore, store: MailStore, consent: ConsentPages, baseUrl: () => string) {
    this.tokens = tokens
    this.store = store
    this.consent = consent
    this.baseUrl = baseUrl
  }

  /** Answers identity requests; false when the path is not an identity path. */
  handle (ctx: Ctx): boolean {
    const m = ctx.path.match(/^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token|oauth2\/v2\.0\/authorize|discovery\/v2\.0\/keys)$/)
    if (!m) return false
    const [, tenant, endpoint] = m
    if (isGuid(tenant) && !this.knownTenant(tenant)) {
      oauthError(ctx, 400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`)
    } else if (endpoint.endsWith('openid-configuration') && ctx.method === 'GET') {
      send(ctx, 200, this.openIdConfiguration(tenant))
    } else if (endpoint.endsWith('keys') && ctx.method === 'GET') {
      // Entra lists, per key, the issuer template it signs for.
      send(ctx, 200, { keys: [{ ...signingKey('microsoft').jwk, issuer: `${this.baseUrl()}/{tenantid}/v2.0` }] })
    } else if (endpoint.endsWith('token') && ctx.method === 'POST') {
      answerTokenRequest(ctx, this.tokens, 'microsoft', (form, client, entry) => this.tokenAnswer(form, tenant, client, entry))
    } else if (endpoint.endsWith('authorize') && ctx.method === 'GET') {
      this.authorizeRoute(ctx, tenant)
    } else {
      send(ctx, 405, { error: 'invalid_request', error_description: 'method not allowed' })
    }
    return true
  }

  /** Same as a browser visiting /authorize and consenting; returns the code. */
  authorize (request: AuthorizeRequest): string {
    const app = this.tokens.apps.get(request.clientId)
    if (!app) throw new Error(`fake graph: unknown client ${request.clientId}`)
    const mailbox = this.store.get(request.user)
    return this.tokens.issueCode({
      ...this.grant(app, mailbox, request.scope), redirectUri: request.redirectUri, nonce: request.nonce, offline: true,
      codeChallenge: request.codeChallenge, codeChallengeMethod: request.codeChallenge ? (request.codeChallengeMethod ?? 'S256') : undefined,
    })
  }

  /** Tokens as a completed code flow would answer them (token endpoint JSON). */
  issueTokens (app: App, user: string, scope: string): TokenResponse {
    const answer = this.delegated(app, this.grant(app, this.store.get(user), scope), {})
    if (answer.status !== 200) throw new Error(`fake graph: ${String(answer.body.error_description)}`)
    return answer.body as unknown as TokenResponse
  }

  /** The issuer of a tenant's tokens; multi-tenant authorities publish the `{tenantid}` template. */
  issuer (tenant: string): string {
    if (tenant === 'consumers') return `${this.baseUrl()}/${CONSUMERS_TENANT}/v2.0`
    if (MULTI_TENANT.has(tenant)) return `${this.baseUrl()}/{tenantid}/v2.0`
    // A domain names the tenant whose mailboxes use it, as Entra resolves verified domains.
    const byDomain = isGuid(tenant) ? undefined : [...this.store.mailboxes.values()].find((m) => m.upn.toLowerCase().endsWith(`@${tenant.toLowerCase()}`))
    return `${this.baseUrl()}/${byDomain?.tenantId ?? tenant.toLowerCase()}/v2.0`
  }

  private grant (app: App, mailbox: Mailbox, scope: string): Grant {
    return { provider: 'microsoft', clientId: app.clientId, tenantId: mailbox.tenantId, userId: mailbox.id, account: mailbox.upn, scope }
  }

  private knownTenant (tenant: string): boolean {
    const t = tenant.toLowerCase()
    return [...this.tokens.apps.values()].some((a) => a.tenantId === t) || [...this.store.mailboxes.values()].some((m) => m.tenantId === t)
  }

  private openIdConfiguration (tenant: string): object {
    const base = `${this.baseUrl()}/${tenant}`
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      // On the fake's own origin: MSAL accepts the issuer only when its scheme+host+port equal the authority's.
      issuer: this.issuer(tenant),
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      msgraph_host: 'graph.microsoft.com',
    }
  }

  private authorizeRoute (ctx: Ctx, tenant: string): void {
    const q = Object.fromEntries(ctx.query)
    this.authorizeLog.push(q)
    const app = this.tokens.apps.get(q.client_id ?? '')
    if (!app) return oauthError(ctx, 400, 'unauthorized_client', 700016, `Application with identifier '${q.client_id}' was not found in the directory '${tenant}'.`)
    if (!q.redirect_uri) return oauthError(ctx, 400, 'invalid_request', 900144, "The request body must contain the following parameter: 'redirect_uri'.")
    if (q.response_type !== 'code') return oauthError(ctx, 400, 'unsupported_response_type', 70005, "The provided value for the input parameter 'response_type' is not allowed for this request.")
    const back = (params: Record<string, string>): URL => redirectBack(q.redirect_uri, q.state, params)
    const signIn = (user: string): URL | string => {
      const mailbox = this.store.find(user)
      if (!mailbox || (isGuid(tenant) && mailbox.tenantId !== tenant.toLowerCase())) return `AADSTS50020: User account '${user}' does not exist in tenant.`
      const code = this.authorize({
        clientId: app.clientId, redirectUri: q.redirect_uri, scope: q.scope ?? '', user, nonce: q.nonce,
        codeChallenge: q.code_challenge, codeChallengeMethod: q.code_challenge_method,
      })
      return back({ code, session_state: randomUUID() })
    }
    const denial = this.nextAuthorizeError
    this.nextAuthorizeError = undefined
    const user = q.login_hint || this.signInAs
    if (!denial && this.consent.enabled) {
      return this.consent.show(ctx, {
        provider: 'Microsoft', clientId: app.clientId, scopes: (q.scope ?? '').split(' ').filter(Boolean), account: user,
        accept: signIn, cancel: () => back({ error: 'access_denied', error_description: DECLINED }),
      })
    }
    const outcome = denial
      ? back({ error: denial.error, error_description: denial.description })
      : user ? signIn(user) : 'AADSTS50058: A silent sign-in request was sent but no user is signed in.'
    const location = typeof outcome === 'string' ? back({ error: 'access_denied', error_description: outcome }) : outcome
    send(ctx, 302, undefined, { location: location.toString() })
  }

  private tokenAnswer (form: URLSearchParams, tenant: string, { clientId, secret }: ClientAuth, entry: TokenRequest): OAuthAnswer {
    const app = this.tokens.apps.get(clientId)
    const tenantMatches = (t: string) => app !== undefined && (app.tenantId === t.toLowerCase() || (!isGuid(t) && !MULTI_TENANT.has(t)))
    const grant = form.get('grant_type')
    if (!app || (grant === 'client_credentials' && !tenantMatches(tenant))) {
      return error(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`)
    }
    if (!secret) return error(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
    if (secret !== app.clientSecret) return error(401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.')
    if (grant === 'client_credentials') return this.clientCredentials(app, form)
    if (grant === 'authorization_code') return this.authorizationCode(app, form)
    if (grant === 'refresh_token') return this.refresh(app, form, entry)
    return error(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`)
  }

  private clientCredentials (app: App, form: URLSearchParams): OAuthAnswer {
    const scope = form.get('scope') ?? ''
    if (!scope.split(' ').every((s) => s.endsWith('/.default'))) {
      return error(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`)
    }
    const at = this.tokens.issueAccessToken({ provider: 'microsoft', tenantId: app.tenantId, clientId: app.clientId, scope, audience: GRAPH_AUDIENCE })
    return { status: 200, body: { token_type: 'Bearer', expires_in: this.tokens.lifetimeSeconds, ext_expires_in: this.tokens.lifetimeSeconds, access_token: at.token } }
  }

  private authorizationCode (app: App, form: URLSearchParams): OAuthAnswer {
    const code = this.tokens.redeemCode('microsoft', app.clientId, form)
    if (code === 'unknown') return error(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.')
    if (code === 'used') return error(400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.')
    if (code === 'redirect_uri') return error(400, 'invalid_grant', 500117, 'The reply uri specified in the request does not match the reply uri used in the authorization request.')
    if (typeof code === 'string') return error(400, 'invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.')
    return this.delegated(app, { ...code, scope: form.get('scope') || code.scope }, { nonce: code.nonce, clientInfo: form.get('client_info') === '1' })
  }

  private refresh (app: App, form: URLSearchParams, entry: TokenRequest): OAuthAnswer {
    const presented = form.get('refresh_token') ?? ''
    const { rt, state } = this.tokens.presentRefreshToken('microsoft', app.clientId, presented, true) // rotation: a refresh token works once
    Object.assign(entry, { refreshToken: presented, refreshTokenLabel: rt?.label, refreshTokenState: state })
    if (!rt) return error(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.')
    if (state === 'revoked') {
      return error(400, 'invalid_grant', 50173, `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${new Date().toISOString()}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${new Date().toISOString()}'.`)
    }
    if (state === 'rotated') return error(400, 'invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity or was revoked.')
    // Real Microsoft documents `scope` as required here; the fake falls back to the granted one.
    return this.delegated(app, { ...rt, scope: form.get('scope') || rt.scope }, { clientInfo: form.get('client_info') === '1' })
  }

  private delegated (app: App, grant: Grant, opts: { nonce?: string; clientInfo?: boolean }): OAuthAnswer {
    const scopes = grant.scope.split(/\s+/).filter(Boolean)
    const granted = scopes.filter((s) => !OIDC_SCOPES.has(s))
    // One access token is for one resource: Graph (bare names too) or e.g. Outlook for IMAP.
    const audiences = new Set(granted.map((s) => s.match(/^(https:\/\/[^/]+)\//)?.[1] ?? GRAPH_AUDIENCE))
    if (audiences.size > 1) {
      return error(400, 'invalid_scope', 28000, `Provided value for the input parameter scope '${grant.scope}' is not valid because it contains more than one resource. The scope ${grant.scope} is not valid.`)
    }
    const { tenantId, userId } = grant
    const at = this.tokens.issueAccessToken({ ...grantOf(grant), scope: granted.join(' '), audience: [...audiences][0] ?? GRAPH_AUDIENCE })
    return {
      status: 200,
      body: {
        token_type: 'Bearer', scope: granted.join(' '), expires_in: this.tokens.lifetimeSeconds, ext_expires_in: this.tokens.lifetimeSeconds, access_token: at.token,
        ...(scopes.includes('offline_access') ? { refresh_token: this.tokens.issueRefreshToken(grantOf(grant)).token } : {}),
        ...(scopes.includes('openid') ? { id_token: this.idToken(app, grant, scopes, opts.nonce) } : {}),
        ...(opts.clientInfo ? { client_info: Buffer.from(JSON.stringify({ uid: userId, utid: tenantId })).toString('base64url') } : {}),
      },
    }
  }

  /** A v2.0 ID token as Entra signs it: pairwise `sub`, `oid`, `tid`; profile and email claims by scope. */
  private idToken (app: App, grant: Grant, scopes: string[], nonce: string | undefined): string {
    const now = Math.floor(Date.now() / 1000)
    return signJwt('microsoft', {
      ver: '2.0', iss: `${this.baseUrl()}/${grant.tenantId}/v2.0`, aud: app.clientId, iat: now, nbf: now, exp: now + 3600,
      sub: createHash('sha256').update(`${grant.userId}:${app.clientId}`).digest('base64url').slice(0, 43),
      oid: grant.userId, tid: grant.tenantId, nonce,
      ...(scopes.includes('profile') ? { name: grant.account.split('@')[0], preferred_username: grant.account } : {}),
      ...(scopes.includes('email') ? { email: grant.account } : {}),
    })
  }
}
