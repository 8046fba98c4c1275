// The Google flavour's test controls, as `fake.google` exposes them.
import type { Google, GoogleApp, GoogleAuthorizeRequest, GoogleUser } from './google.ts'
import type { TokenResponse } from './tokens.ts'

/** The Google flavour's test controls (`fake.google`): issuer <url>/google, its own apps and users. */
export interface FakeGoogle {
  /** `https://localhost:PORT/google`: discovery at `${issuer}/.well-known/openid-configuration` */
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string
  /** authorization endpoint query strings, in order */
  readonly authorizeRequests: Array<Record<string, string>>
  /** each refresh returns a new refresh token and spends the old one; default false, as Google does */
  rotateRefreshTokens: boolean
  addApp(app?: Partial<GoogleApp>): GoogleApp
  /** a Google account that can sign in (Gmail or Workspace address) */
  addUser(email: string, opts?: { sub?: string; name?: string }): GoogleUser
  /** as if `user` signed in and consented; returns the code */
  authorize(request: GoogleAuthorizeRequest): string
  /** tokens as an offline code flow would give them; default scope `openid email https://mail.google.com/` */
  issueTokens(request: { user: string; scope?: string; clientId?: string }): TokenResponse
  /** who signs in without login_hint */
  signInAs(email: string | undefined): void
  /** the next authorization redirects with ?error= (default access_denied) instead of a code */
  denyNextAuthorization(error?: string): void
}

export function googleControl (google: Google): FakeGoogle {
  return {
    get issuer () { return google.issuer },
    clientId: google.defaultApp.clientId,
    clientSecret: google.defaultApp.clientSecret,
    authorizeRequests: google.authorizeLog,
    get rotateRefreshTokens () { return google.rotateRefreshTokens },
    set rotateRefreshTokens (on) { google.rotateRefreshTokens = on },
    addApp: (extra) => google.addApp(extra),
    addUser: (email, opts) => google.addUser(email, opts),
    authorize: (request) => google.authorize(request),
    issueTokens: ({ user, scope = 'openid email https://mail.google.com/', clientId }) => google.issueTokens(user, scope, clientId),
    signInAs: (email) => { google.signInAs = email },
    denyNextAuthorization: (error = 'access_denied') => { google.nextAuthorizeError = error },
  }
}
