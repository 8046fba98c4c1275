/**
 * Glossary
 * - mailbox spec: the mailbox JSON of docs/contract.md, secrets included (input only).
 * - public config: the spec with every secret removed: what is stored in
 *   `mailboxes.config` and what the API and CLI show.
 * - secrets: the removed values, stored encrypted in `mailboxes.secrets`.
 */
export type TlsMode = 'implicit' | 'starttls' | 'none'
export type AfterDelivery = 'seen' | 'delete' | `move:${string}`
/**
 * Which messages of the folder an IMAP mailbox takes, whatever afterDelivery
 * does with them: `unseen` (mail_room's UNSEEN), `new` (mail_room's NEW:
 * unseen and arrived since the folder was last opened, then unseen and
 * arrived since mailslot's first sync), `all` (read ones too).
 */
export type ImapSearch = 'unseen' | 'new' | 'all'

export interface ImapSettings {
  host: string
  /** Default 993 with implicit TLS, else 143. */
  port?: number
  /** Default `implicit`. */
  tls?: TlsMode
  user: string
  password?: string
  /**
   * Instead of `password`: a bearer token (XOAUTH2), or `oauthApp`, the
   * OAuth app a customer connected the mailbox through (its tokens in
   * src/oauth/connections); the connect flow alone sets that one.
   */
  auth?: { accessToken?: string, oauthApp?: string }
  /** Default `INBOX`. */
  folder?: string
  /** Default `unseen`. */
  search?: ImapSearch
  /** Default 30. */
  connectTimeoutSeconds?: number
  /** Default true. */
  rejectUnauthorized?: boolean
  /**
   * PEM certificate(s) trusted for this server instead of the public CAs (an
   * internal CA, a self-signed server). Default none: the public CAs.
   */
  ca?: string
}

interface GraphMailboxSettings {
  user: string
  /** Default `Inbox`. */
  folder?: string
  /** Default `global`. */
  cloud?: 'global' | 'usgov' | 'usgov-dod' | 'china'
  authorityHost?: string
  baseUrl?: string
}

/** App-only access: the app's own credentials (client credentials grant). */
export interface GraphAppSettings extends GraphMailboxSettings {
  tenantId: string
  clientId: string
  clientSecret: string
  oauthApp?: undefined
}

/** Delegated access: a customer's grant to this OAuth app (src/oauth/connections); set by the connect flow alone. */
export interface GraphDelegatedSettings extends GraphMailboxSettings {
  oauthApp: string
  tenantId?: undefined
  clientId?: undefined
  clientSecret?: undefined
}

export type GraphSettings = GraphAppSettings | GraphDelegatedSettings

export type Delivery =
  | { kind: 'builtin' }
  | { kind: 'gitlab', url: string, mailboxType: 'incoming_email' | 'service_desk_email', secretFile: string }
  | { kind: 'webhook', url: string, secret: string }

export interface MailboxSpec {
  name: string
  provider: 'imap' | 'graph'
  imap?: ImapSettings
  graph?: GraphSettings
  /** Graph only. Default `webhook` (polled anyway while no public URL is set). */
  mode?: 'webhook' | 'poll'
  /** Wildcard address, e.g. `incoming+%{key}@example.com`. */
  address?: string
  /** Default `seen`. */
  afterDelivery?: AfterDelivery
  /** Default `{kind: 'builtin'}`. */
  delivery?: Delivery
  /** Default MAILSLOT_POLL_INTERVAL. */
  pollIntervalSeconds?: number
  /** Default MAILSLOT_MAX_EMAIL_BYTES. */
  maxEmailBytes?: number
  /** Reject `Precedence: bulk|junk|list` as auto-generated. Default false. */
  rejectPrecedenceBulk?: boolean
  /** A custom Service Desk mailbox bound to one built-in project. */
  serviceDeskProjectId?: number
}

export type HealthState = 'pending' | 'ok' | 'failing' | 'auth_failed' | 'reauth_required'

export interface MailboxHealth {
  state: HealthState
  lastPollAt: string | null
  lastSuccessAt: string | null
  lastError: string | null
  consecutiveFailures: number
}

/** A stored mailbox with its secrets decrypted: for providers and handlers only. */
export interface Mailbox {
  id: number
  spec: MailboxSpec
  cursor: unknown
}
