// Apps, issued tokens, authorization codes and refresh tokens of both fake
// identity providers (Microsoft, Google), kept apart from their HTTP routes:
// one store, so revocation, lifetimes, logs and introspection see every token.
import { createHash, randomBytes } from 'node:crypto'

export type Provider = 'microsoft' | 'google'

export interface App { tenantId: string; clientId: string; clientSecret: string }

export const GRAPH_AUDIENCE = 'https://graph.microsoft.com'
export const OUTLOOK_AUDIENCE = 'https://outlook.office.com'
export const GOOGLE_MAIL_SCOPE = 'https://mail.google.com/'

/** What a user granted to an app: shared by codes, refresh tokens and delegated access tokens. */
export interface Grant {
  provider: Provider
  clientId: string
  /** Microsoft: the user's tenant; Google: '' */
  tenantId: string
  /** Microsoft: mailbox id (`oid`); Google: `sub` */
  userId: string
  /** UPN or Google address: the IMAP login name */
  account: string
  scope: string
}

export interface AccessToken {
  token: string
  /** short name for logs and assertions, e.g. "at-3" */
  label: string
  provider: Provider
  tenantId: string
  clientId: string
  /** delegated tokens act for one user (mailbox id / Google sub); app-only tokens have none */
  userId?: string
  account?: string
  scope: string
  /** Graph, Outlook (IMAP) or Google */
  audience: string
  expiresAtMs: number
  revoked: boolean
}

export interface AuthCode extends Grant {
  code: string; redirectUri: string; nonce?: string; codeChallenge?: string; codeChallengeMethod?: string
  /** Google: a refresh token comes with the tokens (access_type=offline + prompt=consent) */
  offline: boolean
  used: boolean
}

export interface RefreshToken extends Grant {
  token: string
  label: string
  /** rotated away: a newer refresh token replaced it */
  used: boolean
  /** consent revoked, password reset... */
  revoked: boolean
}

/** How a presented refresh token stood when it arrived: `rotated` means a client sent a spent one. */
export type RefreshTokenState = 'active' | 'rotated' | 'revoked' | 'unknown'

/** A token endpoint's JSON answer. */
export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  scope: string
  refresh_token?: string
  id_token?: string
}

/** A presented refresh token: the record when known, and its state on arrival. */
export interface Presented { rt?: RefreshToken; state: RefreshTokenState }

/** One POST to a token endpoint. */
export interface TokenRequest {
  provider: Provider
  grantType: string
  clientId: string
  /** Date.now() on arrival */
  at: number
  status?: number
  /** the OAuth `error` of a refusal (invalid_grant...) */
  error?: string
  /** refresh_token grants: the token presented, its label and its state on arrival */
  refreshToken?: string
  refreshTokenLabel?: string
  refreshTokenState?: RefreshTokenState
}

/** One token introspection (Dovecot's oauth2 passdb asking about an IMAP login). */
export interface IntrospectionLog { at: number; token?: string; active: boolean; account?: string; reason?: string }

/** RFC 7662 answer. */
export type IntrospectionAnswer =
  | { active: true; username: string; sub: string; scope: string; client_id: string; token_type: 'Bearer'; exp: number; aud: string }
  | { active: false }

export class TokenStore {
  readonly apps = new Map<string, App>()
  readonly accessTokens = new Map<string, AccessToken>()
  readonly codes = new Map<string, AuthCode>()
  readonly refreshTokens = new Map<string, RefreshToken>()
  readonly tokenRequests: TokenRequest[] = []
  readonly introspections: IntrospectionLog[] = []
  lifetimeSeconds: number
  /** record tokenRequests / introspections */
  log = true
  private refreshCount = 0

  constructor (lifetimeSeconds: number) { this.lifetimeSeconds = lifetimeSeconds }

  addApp (app: App): App {
    this.apps.set(app.clientId, { ...app })
    return app
  }

  issueAccessToken (fields: Omit<AccessToken, 'token' | 'label' | 'expiresAtMs' | 'revoked'>): AccessToken {
    const now = Math.floor(Date.now() / 1000)
    // Microsoft: JWT-shaped (some clients peek at claims) with a random signature: only the
    // fake itself checks it. Google: opaque, as Google's are.
    const token = fields.provider === 'google'
      ? `ya29.${randomBytes(96).toString('base64url')}`
      : [b64({ typ: 'JWT', alg: 'RS256' }), b64({
          aud: fields.audience, iss: `https://sts.windows.net/${fields.tenantId}/`, iat: now, nbf: now, exp: now + this.lifetimeSeconds,
          appid: fields.clientId, tid: fields.tenantId, oid: fields.userId, upn: fields.account,
          scp: fields.userId ? fields.scope : undefined, roles: fields.userId ? undefined : ['Mail.ReadWrite'],
        }), randomBytes(32).toString('base64url')].join('.')
    const issued: AccessToken = { ...fields, token, label: `at-${this.accessTokens.size + 1}`, expiresAtMs: Date.now() + this.lifetimeSeconds * 1000, revoked: false }
    this.accessTokens.set(token, issued)
    return issued
  }

  /** The token when it is usable for `audience`, else why not (Graph's wording). */
  check (token: string | undefined, audience: string): { issued?: AccessToken; reason?: string } {
    if (!token) return { reason: 'Access token is empty.' }
    const issued = this.accessTokens.get(token)
    if (!issued) return { reason: 'IDX14100: JWT is not well formed.' }
    if (issued.revoked) {
      return { issued, reason: 'Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp' }
    }
    if (issued.expiresAtMs <= Date.now()) return { issued, reason: 'Lifetime validation failed, the token is expired.' }
    if (issued.audience !== audience) return { issued, reason: 'Access token validation failure. Invalid audience.' }
    return { issued }
  }

  /** Every token issued so far stops working (401) on its next use. */
  invalidateAccessTokens (): void {
    for (const issued of this.accessTokens.values()) issued.revoked = true
  }

  issueCode (fields: Omit<AuthCode, 'code' | 'used'>): string {
    const code = fields.provider === 'google' ? `4/0${randomBytes(48).toString('base64url')}` : `1.A${randomBytes(48).toString('base64url')}`
    this.codes.set(code, { ...fields, code, used: false })
    return code
  }

  /** Redeems a code once; a string says why it cannot be. */
  redeemCode (provider: Provider, clientId: string, form: URLSearchParams): AuthCode | 'unknown' | 'used' | 'redirect_uri' | 'verifier_missing' | 'verifier' {
    const code = this.codes.get(form.get('code') ?? '')
    if (!code || code.provider !== provider || code.clientId !== clientId) return 'unknown'
    if (code.used) return 'used'
    if (form.get('redirect_uri') !== code.redirectUri) return 'redirect_uri'
    if (code.codeChallenge) {
      const verifier = form.get('code_verifier')
      if (!verifier) return 'verifier_missing'
      if (!pkceMatches(verifier, code.codeChallenge, code.codeChallengeMethod)) return 'verifier'
    }
    code.used = true
    return code
  }

  issueRefreshToken (grant: Grant): RefreshToken {
    const token = grant.provider === 'google' ? `1//0${randomBytes(64).toString('base64url')}` : `0.A${randomBytes(64).toString('base64url')}`
    const issued: RefreshToken = { ...grant, token, label: `rt-${++this.refreshCount}`, used: false, revoked: false }
    this.refreshTokens.set(token, issued)
    return issued
  }

  /** Looks up a presented refresh token; `rotate` spends it (it then works once). */
  presentRefreshToken (provider: Provider, clientId: string, token: string, rotate: boolean): Presented {
    const rt = this.refreshTokens.get(token)
    if (!rt || rt.provider !== provider || rt.clientId !== clientId) return { state: 'unknown' }
    if (rt.revoked) return { rt, state: 'revoked' }
    if (rt.used) return { rt, state: 'rotated' }
    if (rotate) rt.used = true
    return { rt, state: 'active' }
  }

  /** Refresh tokens of a user (or all) stop working; access tokens keep working until they expire. */
  revokeRefreshTokens (userId?: string): void {
    for (const rt of this.refreshTokens.values()) if (!userId || rt.userId === userId) rt.revoked = true
  }

  /** Consent withdrawn: every refresh and access token of the user (for one app, or all) stops working. */
  revokeGrant (provider: Provider, userId: string, clientId?: string): void {
    const hit = (t: AccessToken | RefreshToken) => t.provider === provider && t.userId === userId && (!clientId || t.clientId === clientId)
    for (const rt of this.refreshTokens.values()) if (hit(rt)) rt.revoked = true
    for (const at of this.accessTokens.values()) if (hit(at)) at.revoked = true
  }

  /** RFC 7662 for IMAP logins: active while unexpired, unrevoked and carrying an IMAP scope. */
  introspect (token: string): IntrospectionAnswer {
    const issued = this.accessTokens.get(token)
    const reason = !issued
      ? 'unknown token'
      : issued.revoked ? 'revoked' : issued.expiresAtMs <= Date.now() ? 'expired' : !imapCapable(issued) ? 'no IMAP scope' : undefined
    if (this.log) this.introspections.push({ at: Date.now(), token: issued?.label, active: !reason, account: issued?.account, reason })
    if (reason || !issued?.account || !issued.userId) return { active: false }
    return {
      active: true, username: issued.account, sub: issued.userId, scope: issued.scope, client_id: issued.clientId,
      token_type: 'Bearer', exp: Math.floor(issued.expiresAtMs / 1000), aud: issued.audience,
    }
  }

  /** Starts a token request's log entry; the caller fills in status and error. */
  logTokenRequest (entry: TokenRequest): TokenRequest {
    if (this.log) this.tokenRequests.push(entry)
    return entry
  }
}

/** The grant fields of a code or refresh token (without its own fields). */
export function grantOf ({ provider, clientId, tenantId, userId, account, scope }: Grant): Grant {
  return { provider, clientId, tenantId, userId, account, scope }
}

function imapCapable (token: AccessToken): boolean {
  const scopes = token.scope.split(' ')
  return token.provider === 'google'
    ? scopes.includes(GOOGLE_MAIL_SCOPE)
    : token.audience === OUTLOOK_AUDIENCE && scopes.some((s) => /\/IMAP\.AccessAsUser\.All$/i.test(s))
}

export function b64 (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** PKCE check: S256 (or plain) transform of the verifier equals the challenge. */
export function pkceMatches (verifier: string, challenge: string, method = 'plain'): boolean {
  const derived = method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier
  return derived === challenge
}
