/** The four subscription calls of Graph, through the mailbox's connection (its gate, its token). */
import type { GraphConnection } from '../../providers/graph/connection.ts'
import { statusOf } from '../../providers/graph/errors.ts'

export interface SubscriptionRequest {
  resource: string
  notificationUrl: string
  lifecycleNotificationUrl: string
  clientState: string
  expirationDateTime: Date
}

export interface CreatedSubscription { id: string, expirationDateTime: string }

/** `users/{user}/mailFolders('{folder}')/messages`: new mail in one folder (no base URL). */
export function resourceFor (user: string, folder: string): string {
  return `users/${user}/mailFolders('${folder.replace(/'/g, "''")}')/messages`
}

/** POST /subscriptions; Graph runs the validation handshake on both URLs before it answers. */
export async function createSubscription (conn: GraphConnection, r: SubscriptionRequest): Promise<CreatedSubscription> {
  return await conn.call(async request => await request('/subscriptions').post({
    changeType: 'created',
    resource: r.resource,
    notificationUrl: r.notificationUrl,
    lifecycleNotificationUrl: r.lifecycleNotificationUrl,
    clientState: r.clientState,
    expirationDateTime: r.expirationDateTime.toISOString()
  }) as CreatedSubscription)
}

/** PATCH /subscriptions/{id}: the expiration Graph granted (it may differ from the one asked for). */
export async function renewSubscription (conn: GraphConnection, id: string, expiration: Date): Promise<string> {
  const sub = await conn.call(async request => await request(`/subscriptions/${encodeURIComponent(id)}`).patch({ expirationDateTime: expiration.toISOString() }) as CreatedSubscription)
  return sub.expirationDateTime
}

export async function reauthorizeSubscription (conn: GraphConnection, id: string): Promise<void> {
  await conn.call(async request => await request(`/subscriptions/${encodeURIComponent(id)}/reauthorize`).post({}))
}

/** DELETE /subscriptions/{id}; one already gone counts as deleted. */
export async function deleteSubscription (conn: GraphConnection, id: string): Promise<void> {
  try {
    await conn.call(async request => await request(`/subscriptions/${encodeURIComponent(id)}`).delete())
  } catch (err) {
    if (statusOf(err) !== 404) throw err
  }
}
