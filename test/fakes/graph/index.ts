// A local HTTPS fake of Microsoft Graph (mail + subscriptions), of the
// Microsoft identity platform and of Google's OAuth/OpenID endpoints, driven by
// the real @microsoft/microsoft-graph-client, @azure/identity and
// openid-client. See README.md in this folder.
import { randomBytes, randomUUID } from 'node:crypto'
import { fakeCertificate, trustFakeCa } from './cert.ts'
import { ConsentPages } from './consent.ts'
import { Delta } from './delta.ts'
import { Faults } from './faults.ts'
import { Google } from './google.ts'
import { type FakeGoogle, googleControl } from './google-control.ts'
import { type AuthorizeRequest, Identity } from './identity.ts'
import { MailRoutes } from './mail-routes.ts'
import { MailStore, type Mailbox } from './mailstore.ts'
import { type Delivery, Notifier } from './notifier.ts'
import { FakeServer, type LoggedRequest } from './server.ts'
import { type LifecycleEvent, type Subscription, Subscriptions } from './subscriptions.ts'
import { type App, type IntrospectionAnswer, type IntrospectionLog, type TokenRequest, type TokenResponse, TokenStore } from './tokens.ts'

export { trustFakeCa } from './cert.ts'
export type { FaultMatch, FaultSpec, ActiveFault, Faults } from './faults.ts'
export type { App, IntrospectionAnswer, IntrospectionLog, RefreshTokenState, TokenRequest, TokenResponse } from './tokens.ts'
export { GOOGLE_MAIL_SCOPE } from './tokens.ts'
export type { GoogleApp, GoogleAuthorizeRequest, GoogleUser } from './google.ts'
export type { FakeGoogle } from './google-control.ts'
export type { Delivery } from './notifier.ts'
export type { LoggedRequest } from './server.ts'
export type { LifecycleEvent, Subscription } from './subscriptions.ts'
export type { AuthorizeRequest } from './identity.ts'

export interface FakeGraphOptions {
  /** longest subscription lifetime accepted (minutes); default 10080 */
  maxSubscriptionMinutes?: number
  /** shorter requested lifetimes are raised to this, as Graph does; default 45 (capped at the max) */
  minSubscriptionMinutes?: number
  /** how long the subscriber may take to answer a validation request; default 10000 */
  handshakeTimeoutMs?: number
  /** accept http://127.0.0.1 / localhost notification URLs (tests); default true */
  allowHttpNotificationUrls?: boolean
  /** access token lifetime (expires_in) of both providers; default 3599 */
  tokenLifetimeSeconds?: number
  /** GET /authorize shows a sign-in page with Accept / Cancel (browser tests) instead of redirecting at once; default false */
  consentPage?: boolean
  /** Google returns a new refresh token on each refresh and spends the old one; default false (as Google does) */
  googleRotatesRefreshTokens?: boolean
  /** delta page size without Prefer: odata.maxpagesize; default 10 */
  deltaPageSize?: number
  /** delta rounds after the first also return messages changed (e.g. marked read), as real Graph does; default false */
  deltaReportsUpdates?: boolean
  /** change notifications for one URL within this window share a POST; default 5 */
  notificationBatchMs?: number
  /** waits between delivery attempts after a failure; default [50, 200, 500, 1000] */
  notificationRetryDelaysMs?: number[]
  /** per delivery attempt; default 10000 */
  notificationTimeoutMs?: number
  /** call trustFakeCa(ca) at start so this process's SDKs trust the fake; default true */
  trustCa?: boolean
  /** record fake.requests and fake.deliveries; turn off for long benchmarks; default true */
  log?: boolean
  /** listen port; default 0 (any free port) */
  port?: number
  /** own TLS key/cert (PEM) instead of the generated one, e.g. for a long-lived dev environment */
  tls?: { key: string; cert: string }
}

export interface FakeMessage {
  id: string
  folderId: string
  folder: string
  isRead: boolean
  raw: Buffer
  internetMessageId: string
  subject: string
  receivedDateTime: string
}

export interface MailboxHandle {
  id: string
  upn: string
  tenantId: string
  addFolder(name: string): { id: string; displayName: string }
  addMessage(folder: string, raw: Buffer | string): { id: string; internetMessageId: string }
  messages(folder?: string): FakeMessage[]
}

export interface FakeGraph {
  readonly url: string
  readonly ca: string
  readonly tenantId: string
  readonly clientId: string
  readonly clientSecret: string
  readonly faults: Faults
  /** every request the fake answered or is answering, in arrival order */
  readonly requests: LoggedRequest[]
  /** every outbound validation / notification / lifecycle POST attempt */
  readonly deliveries: Delivery[]
  /** /authorize query strings, in order */
  readonly authorizeRequests: Array<Record<string, string>>
  /** highest number of simultaneous requests seen for any one mailbox */
  readonly maxConcurrentPerMailbox: number
  maxConcurrent(user: string): number
  resetStats(): void
  addApp(app?: Partial<App>): App
  addMailbox(userIdOrUpn: string, opts?: { id?: string; upn?: string; tenantId?: string }): MailboxHandle
  addFolder(user: string, name: string): { id: string; displayName: string }
  folders(user: string): Array<{ id: string; displayName: string; wellKnownName?: string }>
  addMessage(user: string, folder: string, raw: Buffer | string): { id: string; internetMessageId: string }
  /** folder: id, well-known name or display name; omitted: all folders */
  messages(user: string, folder?: string): FakeMessage[]
  /** the mailbox owner deletes a message (shows as @removed in delta) */
  removeMessage(user: string, id: string): void
  /** an application access policy blocks app-only access to this mailbox (403 ErrorAccessDenied) */
  denyAccess(user: string, denied?: boolean): void
  subscriptions(): Subscription[]
  sendLifecycle(subscriptionId: string, event: LifecycleEvent): Promise<boolean>
  expireDeltaTokens(): void
  /** resolves when no notification is queued, in flight or waiting for a retry */
  notificationsSettled(): Promise<void>
  /** as if `user` signed in and consented at /authorize; returns the code */
  authorize(request: AuthorizeRequest): string
  /** who signs in at GET /authorize when there is no login_hint */
  signInAs(user: string | undefined): void
  /** the next GET /authorize redirects with ?error= instead of a code */
  denyNextAuthorization(error?: string, description?: string): void
  /** refresh tokens of `user` (or all) answer invalid_grant from now on */
  revokeRefreshTokens(user?: string): void
  /** Microsoft delegated tokens as a code flow would give them; default scope `openid profile email offline_access Mail.ReadWrite` */
  issueTokens(request: { user: string; scope?: string; clientId?: string }): TokenResponse
  /**
   * The user (Microsoft mailbox or Google account) withdrew consent: all their refresh tokens
   * answer invalid_grant, their access tokens stop working (Graph 401, introspection inactive).
   */
  revokeGrants(user: string): void
  /** expires_in of tokens issued from now on (both providers) */
  tokenLifetimeSeconds: number
  /** interactive sign-in page at /authorize (both providers) */
  consentPage: boolean
  /** every token endpoint request (both providers), with grant type, outcome and presented refresh token */
  readonly tokenRequests: TokenRequest[]
  /** RFC 7662 for IMAP logins (Dovecot's oauth2 passdb): active while unexpired, unrevoked and IMAP-scoped */
  introspect(token: string): IntrospectionAnswer
  readonly introspections: IntrospectionLog[]
  readonly google: FakeGoogle
  close(): Promise<void>
}

export async function startFakeGraph (options: FakeGraphOptions = {}): Promise<FakeGraph> {
  const tls = options.tls ?? await fakeCertificate()
  if (options.trustCa ?? true) trustFakeCa(tls.cert)
  let url = ''
  const baseUrl = () => url
  const tenantId = randomUUID()
  const tokens = new TokenStore(options.tokenLifetimeSeconds ?? 3599)
  const app = tokens.addApp({ tenantId, clientId: randomUUID(), clientSecret: `fake~${randomBytes(24).toString('base64url')}` })
  const store = new MailStore()
  const maxMinutes = options.maxSubscriptionMinutes ?? 10080
  const notifier = new Notifier({
    batchWindowMs: options.notificationBatchMs ?? 5, maxBatch: 100,
    retryDelaysMs: options.notificationRetryDelaysMs ?? [50, 200, 500, 1000], timeoutMs: options.notificationTimeoutMs ?? 10_000,
  })
  const subscriptions = new Subscriptions({
    maxMinutes, minMinutes: Math.min(options.minSubscriptionMinutes ?? 45, maxMinutes),
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000, allowHttpNotificationUrls: options.allowHttpNotificationUrls ?? true,
  }, store, notifier)
  const delta = new Delta(store, {
    defaultPageSize: options.deltaPageSize ?? 10, reportUpdates: options.deltaReportsUpdates ?? false
  }, baseUrl)
  const mail = new MailRoutes(store, delta, baseUrl)
  const consent = new ConsentPages()
  consent.enabled = options.consentPage ?? false
  const identity = new Identity(tokens, store, consent, baseUrl)
  const google = new Google(tokens, consent, baseUrl, options.googleRotatesRefreshTokens ?? false)
  const faults = new Faults(tokens)
  const server = new FakeServer(tls, {
    store, tokens, faults,
    routes: {
      identity: (ctx) => consent.handle(ctx) || google.handle(ctx) || identity.handle(ctx),
      graph: async (ctx, path) => (await subscriptions.handle(ctx, path)) || mail.handle(ctx, path),
    },
  })
  server.log = notifier.log = tokens.log = options.log ?? true
  const port = await server.listen(options.port ?? 0, '127.0.0.1')
  url = `https://localhost:${port}`

  const snapshot = (mailbox: Mailbox, folder?: string): FakeMessage[] => {
    const folderId = folder === undefined ? undefined : store.folder(mailbox, folder).id
    return store.inFolder(mailbox, folderId).map((m) => ({
      id: m.id, folderId: m.folderId, folder: mailbox.folders.get(m.folderId)!.displayName, isRead: m.isRead, raw: Buffer.from(m.raw),
      internetMessageId: m.internetMessageId, subject: m.subject, receivedDateTime: new Date(m.receivedMs).toISOString(),
    }))
  }
  const addMessage = (user: string, folder: string, raw: Buffer | string) => {
    const m = store.addMessage(user, folder, raw)
    return { id: m.id, internetMessageId: m.internetMessageId }
  }
  const addFolder = (user: string, name: string) => {
    const f = store.addFolder(user, name)
    return { id: f.id, displayName: f.displayName }
  }

  return {
    url, ca: tls.cert, tenantId, clientId: app.clientId, clientSecret: app.clientSecret, faults,
    requests: server.requests, deliveries: notifier.deliveries, authorizeRequests: identity.authorizeLog,
    get maxConcurrentPerMailbox () { return Math.max(0, ...server.maxInFlight.values()) },
    maxConcurrent: (user) => server.maxInFlight.get(store.get(user).id) ?? 0,
    resetStats: () => {
      for (const log of [server.requests, notifier.deliveries, tokens.tokenRequests, tokens.introspections]) log.length = 0
      server.maxInFlight.clear()
    },
    addApp: (extra = {}) => tokens.addApp({ tenantId, clientId: randomUUID(), clientSecret: `fake~${randomBytes(24).toString('base64url')}`, ...extra }),
    addMailbox: (userIdOrUpn, opts = {}) => {
      const mailbox = store.addMailbox(userIdOrUpn, { ...opts, tenantId: opts.tenantId ?? tenantId })
      return {
        id: mailbox.id, upn: mailbox.upn, tenantId: mailbox.tenantId,
        addFolder: (name) => addFolder(mailbox.id, name),
        addMessage: (folder, raw) => addMessage(mailbox.id, folder, raw),
        messages: (folder) => snapshot(mailbox, folder),
      }
    },
    addFolder,
    folders: (user) => [...store.get(user).folders.values()].map((f) => ({ ...f })),
    addMessage,
    messages: (user, folder) => snapshot(store.get(user), folder),
    removeMessage: (user, id) => {
      const mailbox = store.get(user)
      const message = mailbox.messages.get(id)
      if (!message) throw new Error(`fake graph: no message ${id}`)
      store.remove(mailbox, message)
    },
    denyAccess: (user, denied = true) => { store.get(user).deniedAccess = denied },
    subscriptions: () => { subscriptions.dropExpired(); return [...subscriptions.all.values()].map((s) => ({ ...s })) },
    sendLifecycle: (id, event) => subscriptions.sendLifecycle(id, event),
    expireDeltaTokens: () => delta.expire(),
    notificationsSettled: () => notifier.settled(),
    authorize: (request) => identity.authorize(request),
    signInAs: (user) => { identity.signInAs = user },
    denyNextAuthorization: (error = 'access_denied', description = 'AADSTS65004: User declined to consent to access the app.') => { identity.nextAuthorizeError = { error, description } },
    revokeRefreshTokens: (user) => tokens.revokeRefreshTokens(user === undefined ? undefined : store.get(user).id),
    issueTokens: ({ user, scope = 'openid profile email offline_access Mail.ReadWrite', clientId = app.clientId }) => {
      const registered = tokens.apps.get(clientId)
      if (!registered) throw new Error(`fake graph: unknown client ${clientId}`)
      return identity.issueTokens(registered, user, scope)
    },
    revokeGrants: (user) => {
      const mailbox = store.find(user)
      const account = google.users.get(user.toLowerCase())
      if (!mailbox && !account) throw new Error(`fake graph: no Microsoft mailbox or Google user ${user}`)
      if (mailbox) tokens.revokeGrant('microsoft', mailbox.id)
      if (account) tokens.revokeGrant('google', account.sub)
    },
    get tokenLifetimeSeconds () { return tokens.lifetimeSeconds },
    set tokenLifetimeSeconds (seconds) { tokens.lifetimeSeconds = seconds },
    get consentPage () { return consent.enabled },
    set consentPage (on) { consent.enabled = on },
    tokenRequests: tokens.tokenRequests,
    introspect: (token) => tokens.introspect(token),
    introspections: tokens.introspections,
    google: googleControl(google),
    close: async () => { notifier.close(); await server.close() },
  }
}
