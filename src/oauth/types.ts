/**
 * OAuth apps and the grants customers give them (docs/contract.md, "OAuth
 * apps, connect links and status links").
 * - app: one app registration at Microsoft or Google (`oauth_apps`).
 * - connection: one mailbox's grant from one account to one app, with its
 *   tokens (`oauth_connections`, one per mailbox).
 */
export type OAuthAppKind = 'microsoft' | 'google'

/** The app JSON of the contract, secret included (input only). */
export interface OAuthAppSpec {
  name: string
  kind: OAuthAppKind
  /** Microsoft only: Graph delegated (default) or IMAP with XOAUTH2. Google is always IMAP. */
  access?: 'graph' | 'imap'
  clientId: string
  clientSecret: string
  /** Microsoft: tenant id or `organizations` (default) / `common`. */
  tenant?: string
  /** Microsoft: default `https://login.microsoftonline.com`. */
  authorityHost?: string
  /** Microsoft Graph: default `https://graph.microsoft.com`. */
  graphBaseUrl?: string
  /** Google: default `https://accounts.google.com`. */
  issuer?: string
  /** IMAP access: the server; defaults `outlook.office365.com` / `imap.gmail.com`, 993, implicit. */
  imap?: { host: string, port?: number, tls?: 'implicit' | 'starttls' | 'none' }
}

/** A stored app with its secret, for the OAuth protocol code only. */
export interface OAuthApp extends OAuthAppSpec { id: number }

/** Tokens from a code exchange or a refresh; stored sealed, never shown. */
export interface TokenSet {
  accessToken: string
  refreshToken: string
  expiresAt: Date
}

/** Who granted access, read from the ID token (or user info). */
export interface GrantedAccount {
  /** The mailbox address. */
  account: string
  /** `sub` */
  subject: string
  /** Microsoft `tid`; null for Google. */
  tenantId: string | null
}

/** What a mailbox view shows of its connection (`connection` in the API). */
export interface ConnectionView {
  app: string
  account: string
  state: 'connected' | 'reauth_required'
  connectedAt: string
}
