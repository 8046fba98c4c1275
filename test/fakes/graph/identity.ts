// The identity platform endpoints (login.microsoftonline.com look-alike):
// OIDC discovery, /token (client credentials, auth code + PKCE, refresh with
// rotation) and /authorize. Paths: /{tenant}/v2.0/..., /{tenant}/oauth2/v2.0/...
import { randomUUID } from 'node:crypto'
import { type Ctx, header, oauthError, send } from './http.ts'
import { type MailStore, isGuid } from './mailstore.ts'
import { type App, type TokenStore, idToken, pkceMatches } from './tokens.ts'

export interface AuthorizeRequest {
  clientId: string; redirectUri: string; scope: string; user: string
  tenant?: string; state?: string; codeChallenge?: string; codeChallengeMethod?: string
}

const MULTI_TENANT = new Set(['common', 'organizations', 'consumers'])
const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access'])

export class Identity {
  readonly authorizeLog: Array<Record<string, string>> = []
  /** who "signs in" at /authorize when the request has no login_hint */
  signInAs: string | undefined
  /** next /authorize answers with this error instead of a code (consent denied...) */
  nextAuthorizeError: { error: string; description: string } | undefined
  private readonly tokens: TokenStore
  private readonly store: MailStore
  private readonly baseUrl: () => string

  constructor (tokens: TokenStore, store: MailStore, baseUrl: () => string) {
    this.tokens = tokens
    this.store = store
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
      send(ctx, 200, { keys: [] })
    } else if (endpoint.endsWith('token') && ctx.method === 'POST') {
      this.token(ctx, tenant)
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
      clientId: app.clientId, tenantId: mailbox.tenantId, redirectUri: request.redirectUri, scope: request.scope,
      userId: mailbox.id, codeChallenge: request.codeChallenge, codeChallengeMethod: request.codeChallenge ? (request.codeChallengeMethod ?? 'S256') : undefined,
    })
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
      // MSAL accepts the issuer only when its scheme+host+port equal the authority's.
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
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
    const target = new URL(q.redirect_uri)
    if (q.state !== undefined) target.searchParams.set('state', q.state)
    const denial = this.nextAuthorizeError
    const user = q.login_hint || this.signInAs
    if (denial || !user || !this.store.find(user)) {
      this.nextAuthorizeError = undefined
      target.searchParams.set('error', denial?.error ?? 'access_denied')
      target.searchParams.set('error_description', denial?.description ?? `AADSTS50020: User account '${user ?? ''}' does not exist in tenant.`)
    } else {
      target.searchParams.set('code', this.authorize({
        clientId: app.clientId, redirectUri: q.redirect_uri, scope: q.scope ?? '', user, tenant,
        codeChallenge: q.code_challenge, codeChallengeMethod: q.code_challenge_method,
      }))
      target.searchParams.set('session_state', randomUUID())
    }
    send(ctx, 302, undefined, { location: target.toString() })
  }

  private token (ctx: Ctx, tenant: string): void {
    const form = new URLSearchParams(ctx.body.toString('utf8'))
    // client_secret_basic: credentials in the Authorization header instead of the form.
    const basic = header(ctx, 'authorization').match(/^Basic (.+)$/i)
    const [basicId, basicSecret] = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':').map(decodeURIComponent) : []
    const clientId = form.get('client_id') ?? basicId ?? ''
    const secret = form.get('client_secret') ?? basicSecret
    const app = this.tokens.apps.get(clientId)
    const tenantMatches = (t: string) => app !== undefined && (app.tenantId === t.toLowerCase() || (!isGuid(t) && !MULTI_TENANT.has(t)))
    const grant = form.get('grant_type')
    if (!app || (grant === 'client_credentials' && !tenantMatches(tenant))) {
      return oauthError(ctx, 400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`)
    }
    if (!secret) return oauthError(ctx, 401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
    if (secret !== app.clientSecret) return oauthError(ctx, 401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.')
    if (grant === 'client_credentials') return this.clientCredentials(ctx, app, form)
    if (grant === 'authorization_code') return this.authorizationCode(ctx, app, form)
    if (grant === 'refresh_token') return this.refresh(ctx, app, form)
    oauthError(ctx, 400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`)
  }

  private clientCredentials (ctx: Ctx, app: App, form: URLSearchParams): void {
    const scope = form.get('scope') ?? ''
    if (!scope.split(' ').every((s) => s.endsWith('/.default'))) {
      return oauthError(ctx, 400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`)
    }
    const at = this.tokens.issueAccessToken({ tenantId: app.tenantId, clientId: app.clientId, scope })
    send(ctx, 200, { token_type: 'Bearer', expires_in: this.tokens.lifetimeSeconds, ext_expires_in: this.tokens.lifetimeSeconds, access_token: at.token })
  }

  private authorizationCode (ctx: Ctx, app: App, form: URLSearchParams): void {
    const code = this.tokens.codes.get(form.get('code') ?? '')
    if (!code || code.clientId !== app.clientId) return oauthError(ctx, 400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.')
    if (code.used) return oauthError(ctx, 400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.')
    if (form.get('redirect_uri') !== code.redirectUri) return oauthError(ctx, 400, 'invalid_grant', 500117, 'The reply uri specified in the request does not match the reply uri used in the authorization request.')
    if (code.codeChallenge && !pkceMatches(form.get('code_verifier') ?? '', code.codeChallenge, code.codeChallengeMethod)) {
      return oauthError(ctx, 400, 'invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.')
    }
    code.used = true
    this.delegatedTokens(ctx, app, code.userId, code.tenantId, form.get('scope') || code.scope, form.get('client_info') === '1')
  }

  private refresh (ctx: Ctx, app: App, form: URLSearchParams): void {
    const rt = this.tokens.refreshTokens.get(form.get('refresh_token') ?? '')
    if (!rt || rt.clientId !== app.clientId) return oauthError(ctx, 400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.')
    if (rt.used) return oauthError(ctx, 400, 'invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity or was revoked.')
    rt.used = true // rotation: a refresh token works once
    this.delegatedTokens(ctx, app, rt.userId, rt.tenantId, form.get('scope') || rt.scope, form.get('client_info') === '1')
  }

  private delegatedTokens (ctx: Ctx, app: App, userId: string, tenantId: string, scope: string, clientInfo: boolean): void {
    const scopes = scope.split(/\s+/).filter(Boolean)
    const granted = scopes.filter((s) => !OIDC_SCOPES.has(s)).join(' ')
    const at = this.tokens.issueAccessToken({ tenantId, clientId: app.clientId, userId, scope: granted })
    const mailbox = this.store.get(userId)
    send(ctx, 200, {
      token_type: 'Bearer', scope: granted, expires_in: this.tokens.lifetimeSeconds, ext_expires_in: this.tokens.lifetimeSeconds, access_token: at.token,
      ...(scopes.includes('offline_access') ? { refresh_token: this.tokens.issueRefreshToken({ clientId: app.clientId, tenantId, scope, userId }) } : {}),
      ...(scopes.includes('openid') ? { id_token: idToken({ issuerBase: this.baseUrl(), tenantId, clientId: app.clientId, userId, upn: mailbox.upn }) } : {}),
      ...(clientInfo ? { client_info: Buffer.from(JSON.stringify({ uid: userId, utid: tenantId })).toString('base64url') } : {}),
    })
  }
}
