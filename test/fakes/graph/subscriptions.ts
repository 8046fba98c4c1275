// /v1.0/subscriptions: create (with the real validation handshake), renew,
// delete, reauthorize; and the change/lifecycle notifications they produce.
import { randomBytes, randomUUID } from 'node:crypto'
import { resolveMailbox } from './access.ts'
import { type GraphCtx, graphError, jsonBody, send } from './http.ts'
import type { FolderChange, MailStore, StoredMessage } from './mailstore.ts'
import type { Notifier } from './notifier.ts'

export interface Subscription {
  id: string
  resource: string
  changeType: string
  notificationUrl: string
  lifecycleNotificationUrl: string | null
  clientState: string | null
  expirationDateTime: string
  applicationId: string
  tenantId: string
  creatorId: string
  reauthorizedCount: number
  mailboxId: string
  /** undefined: every folder of the mailbox (resource users/{u}/messages) */
  folderId: string | undefined
}

export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed'

export interface SubscriptionOptions {
  maxMinutes: number
  minMinutes: number
  handshakeTimeoutMs: number
  allowHttpNotificationUrls: boolean
}

const RESOURCE = /^\/?(?:users\/([^/]+)|(me))\/(?:mailfolders(?:\('([^']+)'\)|\/([^/]+))\/)?messages(?:\?.*)?$/i
const CHANGE_FOR: Record<FolderChange['kind'], string> = { added: 'created', updated: 'updated', removed: 'deleted' }

export class Subscriptions {
  readonly all = new Map<string, Subscription>()
  /** mailbox id → its subscriptions: each new message looks only at its own mailbox's */
  private readonly byMailbox = new Map<string, Set<Subscription>>()
  private readonly options: SubscriptionOptions
  private readonly store: MailStore
  private readonly notifier: Notifier

  constructor (options: SubscriptionOptions, store: MailStore, notifier: Notifier) {
    this.options = options
    this.store = store
    this.notifier = notifier
    store.onChange((change, message) => this.notify(change, message))
  }

  /** Answers /v1.0/subscriptions[...]; false for other paths. */
  async handle (ctx: GraphCtx, path: string): Promise<boolean> {
    const m = path.match(/^\/subscriptions(?:\/([^/]+)(\/reauthorize)?)?$/i)
    if (!m) return false
    const [, id, reauthorize] = m
    this.dropExpired()
    const own = [...this.all.values()].filter((s) => s.applicationId === ctx.token.clientId)
    const sub = own.find((s) => s.id === id)
    if (!id && ctx.method === 'POST') await this.create(ctx)
    else if (!id && ctx.method === 'GET') send(ctx, 200, { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#subscriptions', value: own.map(view) })
    else if (!sub) graphError(ctx, 404, 'ResourceNotFound', 'The object was not found.')
    else if (reauthorize && ctx.method === 'POST') this.reauthorize(ctx, sub)
    else if (reauthorize) graphError(ctx, 405, 'MethodNotAllowed', 'Method not allowed.')
    else if (ctx.method === 'GET') send(ctx, 200, view(sub))
    else if (ctx.method === 'DELETE') this.delete(ctx, sub)
    else if (ctx.method === 'PATCH') this.renew(ctx, sub)
    else graphError(ctx, 405, 'MethodNotAllowed', 'Method not allowed.')
    return true
  }

  /** Deliver a lifecycle event to the subscription's lifecycleNotificationUrl. */
  sendLifecycle (subscriptionId: string, lifecycleEvent: LifecycleEvent): Promise<boolean> {
    const sub = this.all.get(subscriptionId)
    if (!sub) throw new Error(`fake graph: no subscription ${subscriptionId}`)
    if (!sub.lifecycleNotificationUrl) throw new Error(`fake graph: subscription ${subscriptionId} has no lifecycleNotificationUrl`)
    if (lifecycleEvent === 'subscriptionRemoved') this.remove(sub)
    return this.notifier.send('lifecycle', sub.lifecycleNotificationUrl, [{
      subscriptionId: sub.id, subscriptionExpirationDateTime: sub.expirationDateTime, tenantId: sub.tenantId, clientState: sub.clientState,
      lifecycleEvent,
    }])
  }

  private async create (ctx: GraphCtx): Promise<void> {
    const body = jsonBody(ctx)
    if (!body || typeof body !== 'object') return graphError(ctx, 400, 'BadRequest', 'Empty Payload. JSON content expected.')
    const { changeType, notificationUrl, lifecycleNotificationUrl, resource, clientState, includeResourceData } = body
    const changes = typeof changeType === 'string' ? changeType.split(',').map((c: string) => c.trim()) : []
    if (changes.length === 0 || changes.some((c: string) => !['created', 'updated', 'deleted'].includes(c))) return graphError(ctx, 400, 'InvalidRequest', `Invalid changeType '${changeType}'.`)
    for (const url of [notificationUrl, lifecycleNotificationUrl]) {
      if (url !== undefined && url !== null && !this.acceptableUrl(url)) return graphError(ctx, 400, 'ValidationError', `Subscription validation request failed. Notification endpoint must be an https URL: '${url}'.`)
    }
    if (!notificationUrl) return graphError(ctx, 400, 'InvalidRequest', "'notificationUrl' is required.")
    if (clientState !== undefined && clientState !== null && (typeof clientState !== 'string' || clientState.length > 128)) return graphError(ctx, 400, 'InvalidRequest', 'clientState must be a string of at most 128 characters.')
    if (includeResourceData) return graphError(ctx, 400, 'InvalidRequest', 'The fake Graph does not support includeResourceData (rich notifications).')
    const target = typeof resource === 'string' ? resource.match(RESOURCE) : null
    if (!target) return graphError(ctx, 400, 'InvalidRequest', `Unsupported resource '${resource}'.`)
    const [, user, me, quotedFolder, folderSegment] = target
    const mailbox = resolveMailbox(ctx, this.store, me ?? decodeURIComponent(user), 'read')
    if (!mailbox) return
    const folderRef = quotedFolder ?? (folderSegment && decodeURIComponent(folderSegment))
    const folder = folderRef ? this.store.findFolder(mailbox, folderRef) : undefined
    if (folderRef && !folder) return graphError(ctx, 404, 'ExtensionError', `Operation: Create; Exception: [Status Code: NotFound; Reason: The specified folder '${folderRef}' could not be found in the store.]`)
    const expiration = this.checkExpiration(ctx, body.expirationDateTime, 'Create')
    if (!expiration) return
    for (const url of [notificationUrl, lifecycleNotificationUrl].filter(Boolean) as string[]) {
      const result = await this.notifier.validate(url, this.options.handshakeTimeoutMs)
      if (!result.ok && result.timedOut) return graphError(ctx, 400, 'InvalidRequest', `Subscription validation request timeout. ${url}`)
      if (!result.ok) return graphError(ctx, 400, 'ValidationError', `Subscription validation request failed. ${result.reason}`)
    }
    const sub: Subscription = {
      id: randomUUID(), resource, changeType: changes.join(','), notificationUrl, lifecycleNotificationUrl: lifecycleNotificationUrl ?? null,
      clientState: clientState ?? null, expirationDateTime: expiration, applicationId: ctx.token.clientId, tenantId: mailbox.tenantId,
      creatorId: ctx.token.userId ?? randomUUID(), reauthorizedCount: 0, mailboxId: mailbox.id, folderId: folder?.id,
    }
    this.all.set(sub.id, sub)
    if (!this.byMailbox.has(sub.mailboxId)) this.byMailbox.set(sub.mailboxId, new Set())
    this.byMailbox.get(sub.mailboxId)!.add(sub)
    send(ctx, 201, { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity', ...view(sub) })
  }

  private reauthorize (ctx: GraphCtx, sub: Subscription): void {
    sub.reauthorizedCount++
    send(ctx, 204)
  }

  private delete (ctx: GraphCtx, sub: Subscription): void {
    this.remove(sub)
    send(ctx, 204)
  }

  private renew (ctx: GraphCtx, sub: Subscription): void {
    const expiration = this.checkExpiration(ctx, jsonBody(ctx)?.expirationDateTime, 'Update')
    if (!expiration) return
    sub.expirationDateTime = expiration
    send(ctx, 200, { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity', ...view(sub) })
  }

  /** ISO expiration to store, or undefined after answering 400. Under the minimum is raised, like Graph. */
  private checkExpiration (ctx: GraphCtx, value: unknown, operation: string): string | undefined {
    const ms = typeof value === 'string' ? Date.parse(value) : NaN
    const now = Date.now()
    if (Number.isNaN(ms)) { graphError(ctx, 400, 'InvalidRequest', "'expirationDateTime' is missing or not a valid date."); return undefined }
    if (ms <= now) { graphError(ctx, 400, 'InvalidRequest', 'Subscription expiration must be in the future.'); return undefined }
    if (ms - now > this.options.maxMinutes * 60_000) {
      graphError(ctx, 400, 'ExtensionError', `Operation: ${operation}; Exception: [Status Code: BadRequest; Reason: Subscription expiration can only be ${this.options.maxMinutes} minutes in the future.]`)
      return undefined
    }
    return new Date(Math.max(ms, now + this.options.minMinutes * 60_000)).toISOString()
  }

  private acceptableUrl (url: unknown): boolean {
    if (typeof url !== 'string') return false
    try {
      const u = new URL(url)
      if (u.protocol === 'https:') return true
      return this.options.allowHttpNotificationUrls && u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)
    } catch { return false }
  }

  /** Graph forgets expired subscriptions: they are not listed, renewed or notified. */
  dropExpired (): void {
    for (const sub of this.all.values()) if (expired(sub)) this.remove(sub)
  }

  private remove (sub: Subscription): void {
    this.all.delete(sub.id)
    this.byMailbox.get(sub.mailboxId)?.delete(sub)
  }

  private notify (change: FolderChange, message: StoredMessage): void {
    const changeType = CHANGE_FOR[change.kind]
    for (const sub of this.byMailbox.get(change.mailboxId) ?? []) {
      if (expired(sub)) { this.remove(sub); continue }
      if (sub.folderId && sub.folderId !== change.folderId) continue
      if (!sub.changeType.split(',').includes(changeType)) continue
      const resource = `Users/${sub.mailboxId}/Messages/${change.messageId}`
      this.notifier.enqueue(sub.notificationUrl, {
        id: randomBytes(9).toString('base64url'), subscriptionId: sub.id, subscriptionExpirationDateTime: sub.expirationDateTime,
        clientState: sub.clientState, changeType, tenantId: sub.tenantId, resource,
        resourceData: { '@odata.type': '#Microsoft.Graph.Message', '@odata.id': resource, '@odata.etag': `W/"${message.changeKey}"`, id: change.messageId },
      })
    }
  }
}

function expired (sub: Subscription): boolean {
  return Date.parse(sub.expirationDateTime) <= Date.now()
}

function view (sub: Subscription): object {
  return {
    id: sub.id, resource: sub.resource, applicationId: sub.applicationId, changeType: sub.changeType, clientState: sub.clientState,
    notificationUrl: sub.notificationUrl, notificationQueryOptions: null, lifecycleNotificationUrl: sub.lifecycleNotificationUrl,
    expirationDateTime: sub.expirationDateTime, creatorId: sub.creatorId, includeResourceData: null, latestSupportedTlsVersion: 'v1_2',
    encryptionCertificate: null, encryptionCertificateId: null, notificationUrlAppId: null,
  }
}
