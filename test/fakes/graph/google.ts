// Google's OAuth 2.0 / OpenID Connect endpoints (accounts.google.com,
// oauth2.googleapis.com, openidconnect.googleapis.com look-alike) under the
// issuer <fake>/google: discovery, JWKS, authorize, token, userinfo, revoke.
import { randomBytes, randomInt } from 'node:crypto'
import type { ConsentPages } from './consent.ts'
import { type ClientAuth, type Ctx, type OAuthAnswer, answerTokenRequest, formBody, header, redirectBack, send } from './http.ts'
import { signJwt, signingKey } from './signing.ts'
import { type Grant, type TokenRequest, type TokenResponse, type TokenStore, grantOf } from './tokens.ts'

export interface GoogleApp { clientId: string; clientSecret: string }
export interface GoogleUser { sub: string; email: string; name: string }

export interface GoogleAuthorizeRequest {
  clientId?: string; redirectUri: string; scope: string; user: string; nonce?: string
  codeChallenge?: string; codeChallengeMethod?: string
  /** access_type=offline + prompt=consent: the code also yields a refresh token; default true */
  offline?: boolean
}

/** Where Google's own APIs accept its access tokens (userinfo); IMAP checks the mail scope. */
const GOOGLE_AUDIENCE = 'https://www.googleapis.com'
const SCOPE_ALIASES: Record<string, string> = {
  email: 'https://www.googleapis.com/auth/userinfo.email',
  profile: 'https://www.googleapis.com/auth/userinfo.profile',
}
/** Google answers the short scope names in their URL form. */
const grantedScope = (scope: string): string => [...new Set(scope.split(/\s+/).filter(Boolean).map((s) => SCOPE_ALIASES[s] ?? s))].join(' ')
const REVOKED = 'Token has been expired or revoked.'
const fail = (status: number, error: string, description: string): OAuthAnswer =>
  ({ status, body: { error, error_description: description } })

export class Google {
  readonly apps = new Map<string, GoogleApp>()
  readonly users = new Map<string, GoogleUser>()
  readonly authorizeLog: Array<Record<string, string>> = []
  signInAs: string | undefined
  nextAuthorizeError: string | undefined
  /** Google keeps a refresh token across refreshes by default; on: each refresh returns a new one and spends the old */
  rotateRefreshTokens: boolean
  readonly defaultApp: GoogleApp
  private readonly tokens: TokenStore
  private readonly consent: ConsentPages
  private readonly baseUrl: () => string

  constructor (tokens: TokenStore, consent: ConsentPages, baseUrl: () => string, rotateRefreshTokens: boolean) {
    this.tokens = tokens
    this.consent = consent
    this.baseUrl = baseUrl
    this.rotateRefreshTokens = rotateRefreshTokens
    this.defaultApp = this.addApp()
  }

  get issuer (): string { return `${this.baseUrl()}/google` }

  addApp (app: Partial<GoogleApp> = {}): GoogleApp {
    const created = {
      clientId: `${randomInt(1e11, 1e12)}-${randomBytes(16).toString('hex')}.apps.googleusercontent.com`,
      clientSecret: `GOCSPX-${randomBytes(21).toString('base64url')}`,
      ...app,
    }
    this.apps.set(created.clientId, created)
    return created
  }

  addUser (email: string, opts: { sub?: string; name?: string } = {}): GoogleUser {
    if (this.users.has(email.toLowerCase())) throw new Error(`fake google: user ${email} already exists`)
    const user = { sub: opts.sub ?? `1${String(randomInt(1e10, 1e11))}${String(randomInt(1e9, 1e10))}`, email, name: opts.name ?? email.split('@')[0] }
    this.users.set(email.toLowerCase(), user)
    return user
  }

  user (email: string): GoogleUser {
    const user = this.users.get(email.toLowerCase())
    if (!user) throw new Error(`fake google: no user ${email}`)
    return user
  }

  /** Same as a browser visiting the authorization endpoint and consenting; returns the code. */
  authorize (request: GoogleAuthorizeRequest): string {
    const app = this.apps.get(request.clientId ?? this.defaultApp.clientId)
    if (!app) throw new Error(`fake google: unknown client ${request.clientId}`)
    return this.tokens.issueCode({
      ...this.grant(app, this.user(request.user), request.scope),
      redirectUri: request.redirectUri, nonce: request.nonce, offline: request.offline ?? true,
      codeChallenge: request.codeChallenge, codeChallengeMethod: request.codeChallenge ? (request.codeChallengeMethod ?? 'S256') : undefined,
    })
  }

  /** Tokens as a completed offline code flow would answer them (token endpoint JSON). */
  issueTokens (user: string, scope: string, clientId = this.defaultApp.clientId): TokenResponse {
    const app = this.apps.get(clientId)
    if (!app) throw new Error(`fake google: unknown client ${clientId}`)
    return this.tokensFor(app, this.grant(app, this.user(user), scope), { refreshToken: true }).body as unknown as TokenResponse
  }

  handle (ctx: Ctx): boolean {
    const m = ctx.path.match(/^\/google(\/.*)$/)
    if (!m) return false
    const route = `${ctx.method} ${m[1]}`
    if (route === 'GET /.well-known/openid-configuration') send(ctx, 200, this.openIdConfiguration())
    else if (route === 'GET /oauth2/v3/certs') send(ctx, 200, { keys: [signingKey('google').jwk] })
    else if (route === 'GET /o/oauth2/v2/auth') this.authorizeRoute(ctx)
    else if (route === 'POST /token') answerTokenRequest(ctx, this.tokens, 'google', (form, client, entry) => this.tokenAnswer(form, client, entry))
    else if (route === 'GET /v1/userinfo' || route === 'POST /v1/userinfo') this.userinfo(ctx)
    else if (route === 'POST /revoke') this.revoke(ctx)
    else send(ctx, 404, { error: { code: 404, message: `No fake Google endpoint for ${route}`, status: 'NOT_FOUND' } })
    return true
  }

  private grant (app: GoogleApp, user: GoogleUser, scope: string): Grant {
    return { provider: 'google', clientId: app.clientId, tenantId: '', userId: user.sub, account: user.email, scope: grantedScope(scope) }
  }

  private openIdConfiguration (): object {
    const base = this.issuer
    return {
      issuer: base,
      authorization_endpoint: `${base}/o/oauth2/v2/auth`,
      device_authorization_endpoint: `${base}/device/code`,
      token_endpoint: `${base}/token`,
      userinfo_endpoint: `${base}/v1/userinfo`,
      revocation_endpoint: `${base}/revoke`,
      jwks_uri: `${base}/oauth2/v3/certs`,
      response_types_supported: ['code', 'token', 'id_token', 'code token', 'code id_token', 'token id_token', 'code token id_token', 'none'],
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'email', 'profile'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      claims_supported: ['aud', 'email', 'email_verified', 'exp', 'family_name', 'given_name', 'iat', 'iss', 'name', 'picture', 'sub'],
      code_challenge_methods_supported: ['plain', 'S256'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
    }
  }

  private authorizeRoute (ctx: Ctx): void {
    const q = Object.fromEntries(ctx.query)
    this.authorizeLog.push(q)
    const app = this.apps.get(q.client_id ?? '')
    // Google shows its own error page for a broken request: nothing goes back to the app.
    const errorPage = (status: number, error: string, text: string) =>
      send(ctx, status, `Access blocked: authorization error. Error ${status}: ${error}. ${text}`, { 'content-type': 'text/plain; charset=utf-8' })
    if (!app) return errorPage(401, 'invalid_client', 'The OAuth client was not found.')
    for (const name of ['redirect_uri', 'response_type', 'scope']) if (!q[name]) return errorPage(400, 'invalid_request', `Missing required parameter: ${name}`)
    if (q.response_type !== 'code') return errorPage(400, 'unsupported_response_type', `Invalid response_type: ${q.response_type}`)
    if (q.code_challenge_method && !['S256', 'plain'].includes(q.code_challenge_method)) return errorPage(400, 'invalid_request', 'Invalid code_challenge_method.')
    const scope = grantedScope(q.scope)
    const back = (params: Record<string, string>): URL => redirectBack(q.redirect_uri, q.state, params)
    const signIn = (email: string): URL | string => {
      if (!this.users.has(email.toLowerCase())) return `Couldn't find your Google Account (${email}).`
      const code = this.authorize({
        clientId: app.clientId, redirectUri: q.redirect_uri, scope: q.scope, user: email, nonce: q.nonce,
        codeChallenge: q.code_challenge, codeChallengeMethod: q.code_challenge_method,
        // Google answers a refresh token only to offline access with a fresh consent.
        offline: q.access_type === 'offline' && (q.prompt ?? '').split(' ').includes('consent'),
      })
      return back({ code, scope, authuser: '0', prompt: 'consent' })
    }
    const denial = this.nextAuthorizeError
    this.nextAuthorizeError = undefined
    const user = q.login_hint || this.signInAs
    if (!denial && this.consent.enabled) {
      return this.consent.show(ctx, {
        provider: 'Google', clientId: app.clientId, scopes: scope.split(' '), account: user, accept: signIn, cancel: () => back({ error: 'access_denied' }),
      })
    }
    const outcome = denial === undefined && user ? signIn(user) : undefined
    send(ctx, 302, undefined, { location: (outcome instanceof URL ? outcome : back({ error: denial ?? 'access_denied' })).toString() })
  }

  private tokenAnswer (form: URLSearchParams, { clientId, secret }: ClientAuth, entry: TokenRequest): OAuthAnswer {
    const app = this.apps.get(clientId)
    if (!app) return fail(401, 'invalid_client', 'The OAuth client was not found.')
    if (secret !== app.clientSecret) return fail(401, 'invalid_client', 'Unauthorized')
    const grantType = form.get('grant_type')
    if (grantType === 'authorization_code') {
      const code = this.tokens.redeemCode('google', clientId, form)
      if (code === 'unknown') return fail(400, 'invalid_grant', 'Malformed auth code.')
      if (code === 'used') return fail(400, 'invalid_grant', 'Bad Request')
      if (code === 'redirect_uri') return fail(400, 'redirect_uri_mismatch', 'Bad Request')
      if (code === 'verifier_missing') return fail(400, 'invalid_grant', 'Missing code verifier.')
      if (code === 'verifier') return fail(400, 'invalid_grant', 'Invalid code verifier.')
      return this.tokensFor(app, code, { refreshToken: code.offline, nonce: code.nonce })
    }
    if (grantType === 'refresh_token') {
      const presented = form.get('refresh_token') ?? ''
      const { rt, state } = this.tokens.presentRefreshToken('google', clientId, presented, this.rotateRefreshTokens)
      Object.assign(entry, { refreshToken: presented, refreshTokenLabel: rt?.label, refreshTokenState: state })
      if (!rt) return fail(400, 'invalid_grant', 'Bad Request')
      if (state !== 'active') return fail(400, 'invalid_grant', REVOKED)
      return this.tokensFor(app, rt, { refreshToken: this.rotateRefreshTokens })
    }
    return fail(400, 'unsupported_grant_type', `Invalid grant_type: ${grantType ?? ''}`)
  }

  private tokensFor (app: GoogleApp, grant: Grant, opts: { refreshToken: boolean; nonce?: string }): OAuthAnswer {
    const at = this.tokens.issueAccessToken({ ...grantOf(grant), audience: GOOGLE_AUDIENCE })
    const { scope } = grant
    const scopes = scope.split(' ')
    return {
      status: 200,
      body: {
        access_token: at.token, expires_in: this.tokens.lifetimeSeconds, scope, token_type: 'Bearer',
        ...(opts.refreshToken ? { refresh_token: this.tokens.issueRefreshToken(grantOf(grant)).token } : {}),
        ...(scopes.includes('openid') ? { id_token: this.idToken(app, this.user(grant.account), scopes, opts.nonce) } : {}),
      },
    }
  }

  private idToken (app: GoogleApp, user: GoogleUser, scopes: string[], nonce: string | undefined): string {
    const now = Math.floor(Date.now() / 1000)
    const domain = user.email.split('@')[1]?.toLowerCase()
    return signJwt('google', {
      iss: this.issuer, azp: app.clientId, aud: app.clientId, sub: user.sub, iat: now, exp: now + 3600, nonce,
      ...(scopes.includes(SCOPE_ALIASES.email) ? { email: user.email, email_verified: true } : {}),
      ...(scopes.includes(SCOPE_ALIASES.profile) ? { name: user.name } : {}),
      // Workspace accounts carry their domain; consumer (gmail.com) accounts do not.
      ...(domain !== 'gmail.com' ? { hd: domain } : {}),
    })
  }

  private userinfo (ctx: Ctx): void {
    const bearer = header(ctx, 'authorization').match(/^Bearer\s+(.+)$/i)?.[1]
    const { issued, reason } = this.tokens.check(bearer, GOOGLE_AUDIENCE)
    if (reason || !issued?.account) {
      return send(ctx, 401, { error: 'invalid_request', error_description: 'Invalid Credentials' }, { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' })
    }
    const user = this.user(issued.account)
    const scopes = issued.scope.split(' ')
    send(ctx, 200, {
      sub: user.sub,
      ...(scopes.includes(SCOPE_ALIASES.email) ? { email: user.email, email_verified: true } : {}),
      ...(scopes.includes(SCOPE_ALIASES.profile) ? { name: user.name } : {}),
    })
  }

  /** RFC 7009: revoking either token of a grant ends the whole grant (all its tokens), as at Google. */
  private revoke (ctx: Ctx): void {
    const token = formBody(ctx).get('token') ?? ctx.query.get('token') ?? ''
    const found = this.tokens.accessTokens.get(token) ?? this.tokens.refreshTokens.get(token)
    if (!found || found.provider !== 'google' || found.revoked || found.userId === undefined) {
      return send(ctx, 400, { error: 'invalid_token', error_description: 'Token expired or revoked' })
    }
    this.tokens.revokeGrant('google', found.userId, found.clientId)
    send(ctx, 200, {})
  }
}
