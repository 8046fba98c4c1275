// Apps, issued tokens, authorization codes and refresh tokens: the identity
// platform's state, kept apart from its HTTP routes.
import { createHash, randomBytes, randomUUID } from 'node:crypto'

export interface App { tenantId: string; clientId: string; clientSecret: string }

export interface AccessToken {
  token: string
  /** short name for logs and assertions, e.g. "at-3" */
  label: string
  tenantId: string
  clientId: string
  /** delegated tokens act for one mailbox (id); app-only tokens have none */
  userId?: string
  scope: string
  expiresAtMs: number
  revoked: boolean
}

export interface AuthCode {
  code: string; clientId: string; tenantId: string; redirectUri: string; scope: string; userId: string
  codeChallenge?: string; codeChallengeMethod?: string; used: boolean
}

export interface RefreshToken { token: string; clientId: string; tenantId: string; scope: string; userId: string; used: boolean }

export class TokenStore {
  readonly apps = new Map<string, App>()
  readonly accessTokens = new Map<string, AccessToken>()
  readonly codes = new Map<string, AuthCode>()
  readonly refreshTokens = new Map<string, RefreshToken>()
  lifetimeSeconds: number

  constructor (lifetimeSeconds: number) { this.lifetimeSeconds = lifetimeSeconds }

  addApp (app: App): App {
    this.apps.set(app.clientId, { ...app })
    return app
  }

  issueAccessToken (fields: { tenantId: string; clientId: string; userId?: string; scope: string }): AccessToken {
    // JWT-shaped (header.payload.signature) because some clients peek at claims;
    // the signature is random: nothing here verifies it except the fake itself.
    const now = Math.floor(Date.now() / 1000)
    const claims = { aud: 'https://graph.microsoft.com', iss: `https://sts.windows.net/${fields.tenantId}/`, iat: now, nbf: now, exp: now + this.lifetimeSeconds, appid: fields.clientId, tid: fields.tenantId, oid: fields.userId, scp: fields.userId ? fields.scope : undefined, roles: fields.userId ? undefined : ['Mail.ReadWrite'] }
    const token = [b64({ typ: 'JWT', alg: 'RS256' }), b64(claims), randomBytes(32).toString('base64url')].join('.')
    const issued: AccessToken = { ...fields, token, label: `at-${this.accessTokens.size + 1}`, expiresAtMs: Date.now() + this.lifetimeSeconds * 1000, revoked: false }
    this.accessTokens.set(token, issued)
    return issued
  }

  /** Why a bearer token is unusable, or undefined when it is fine. */
  rejectReason (token: string | undefined): string | undefined {
    if (!token) return 'Access token is empty.'
    const issued = this.accessTokens.get(token)
    if (!issued) return 'IDX14100: JWT is not well formed.'
    if (issued.revoked || issued.expiresAtMs <= Date.now()) return 'Lifetime validation failed, the token is expired.'
    return undefined
  }

  /** Every token issued so far stops working (401) on its next use. */
  invalidateAccessTokens (): void {
    for (const issued of this.accessTokens.values()) issued.revoked = true
  }

  issueCode (fields: Omit<AuthCode, 'code' | 'used'>): string {
    const code = `1.A${randomBytes(48).toString('base64url')}`
    this.codes.set(code, { ...fields, code, used: false })
    return code
  }

  issueRefreshToken (fields: Omit<RefreshToken, 'token' | 'used'>): string {
    const token = `0.A${randomBytes(64).toString('base64url')}`
    this.refreshTokens.set(token, { ...fields, token, used: false })
    return token
  }

  /** The customer revoked consent (or an admin revoked sessions). */
  revokeRefreshTokens (userId?: string): void {
    for (const rt of this.refreshTokens.values()) if (!userId || rt.userId === userId) rt.used = true
  }
}

export function b64 (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** PKCE check: S256 (or plain) transform of the verifier equals the challenge. */
export function pkceMatches (verifier: string, challenge: string, method = 'plain'): boolean {
  const derived = method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier
  return derived === challenge
}

/** An unsigned-looking id_token: MSAL reads its claims but the fake does not sign. */
export function idToken (
  fields: { issuerBase: string; tenantId: string; clientId: string; userId: string; upn: string; nonce?: string }
): string {
  const now = Math.floor(Date.now() / 1000)
  const claims = { aud: fields.clientId, iss: `${fields.issuerBase}/${fields.tenantId}/v2.0`, iat: now, nbf: now, exp: now + 3600, name: fields.upn, oid: fields.userId, preferred_username: fields.upn, sub: randomUUID(), tid: fields.tenantId, nonce: fields.nonce, ver: '2.0' }
  return [b64({ typ: 'JWT', alg: 'RS256', kid: 'fake' }), b64(claims), randomBytes(32).toString('base64url')].join('.')
}
