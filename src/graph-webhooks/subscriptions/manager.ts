/**
 * graph-subscription: bring one mailbox's subscription to where it should be.
 * - ensure: none or dead → create; live but due → renew (PATCH); else nothing;
 * - reauthorize (lifecycle reauthorizationRequired) → POST …/reauthorize;
 * - recreate (lifecycle subscriptionRemoved) → a new subscription.
 * A created subscription is stored in the same transaction as a resync of
 * the mailbox (notifications may have been missed before it existed).
 * Failures are recorded on the row (shown by the API), sent to operators as
 * a `subscription.failed` event, and retried with backoff; meanwhile the
 * mailbox is polled. Runs under the mailbox's
 * subscription lock: two processes never create two subscriptions.
 */
import { transaction } from '../../db/pool.ts'
import { loadMailbox } from '../../mailboxes/repository.ts'
import type { Mailbox } from '../../mailboxes/types.ts'
import { GraphConnection } from '../../providers/graph/connection.ts'
import { statusOf } from '../../providers/graph/errors.ts'
import { inTransaction, send } from '../../queue/boss.ts'
import { subscriptionKeys, syncKeys, type QueuePayloads } from '../../queue/queues.ts'
import type { AppContext } from '../../context.ts'
import { newClientState, sealClientState } from '../client-state.ts'
import { createSubscription, deleteSubscription, reauthorizeSubscription, renewSubscription, resourceFor } from './graph-api.ts'
import {
  deleteSubscriptionRow, getSubscription, saveActive, saveFailure, saveHealthy, withSubscriptionLock,
  type SubscriptionRow, type SubscriptionState
} from './repository.ts'
import { queueEvent } from '../../events/queue.ts'
import { lifetimeMs, renewBeforeMs } from './timing.ts'
import { bareError, errorMessage } from '../../shared/errors.ts'
import { UndecryptableError } from '../../shared/crypto.ts'
import { connectionTokens } from '../../oauth/connections/access-tokens.ts'

export type SubscriptionJob = QueuePayloads['graph-subscription']

export const NO_PUBLIC_URL = 'MAILSLOT_PUBLIC_URL is not set: the mailbox is polled'

interface Target { ctx: AppContext, mailbox: Mailbox, conn: GraphConnection, row: SubscriptionRow | null }

export async function runSubscriptionJob (ctx: AppContext, job: SubscriptionJob): Promise<void> {
  const outcome = await withSubscriptionLock(ctx.pool, job.mailboxId, false, async () => { await handle(ctx, job) })
  // another process is at it; an ensure would reach the same state, a lifecycle reaction must still happen
  if (outcome === 'busy' && job.action !== 'ensure') {
    await send(ctx.boss, 'graph-subscription', job, { singletonKey: subscriptionKeys.again(job.mailboxId, job.action), startAfter: 2 })
  }
}

async function handle (ctx: AppContext, job: SubscriptionJob): Promise<void> {
  let mailbox: Mailbox | null
  try {
    mailbox = await loadMailbox(ctx.pool, ctx.keyring, job.mailboxId)
  } catch (err) {
    if (!(err instanceof UndecryptableError)) throw err
    // shown on the subscription and retried with its backoff; a still-live subscription stays active
    const row = await getSubscription(ctx.pool, job.mailboxId)
    await failed(ctx, job.mailboxId, row?.state === 'active' ? 'active' : 'failed', `mailbox secrets: ${err.message}`)
    return
  }
  if (mailbox === null || mailbox.spec.graph === undefined) return
  const conn = new GraphConnection(mailbox.spec.graph, undefined, connectionTokens(ctx, mailbox.id))
  const t: Target = { ctx, mailbox, conn, row: await getSubscription(ctx.pool, mailbox.id) }
  if ((mailbox.spec.mode ?? 'webhook') !== 'webhook') { await retire(t); return }
  const row = t.row
  const live = row?.state === 'active' && row.subscription_id !== null && (row.expires_at?.getTime() ?? 0) > Date.now()
  if (job.action === 'reauthorize' && live && row.subscription_id === job.subscriptionId) {
    if (await reauthorize(t, row.subscription_id)) return
  } else if (job.action === 'recreate' && (job.subscriptionId === undefined || row?.subscription_id === job.subscriptionId)) {
    // fall through to create
  } else if (live) {
    const expiresAt = (row.expires_at as Date).getTime()
    if (expiresAt - Date.now() > renewBeforeMs(ctx.settings)) { await scheduleRenewal(ctx, mailbox.id, expiresAt); return }
    if (await renew(t, row.subscription_id as string)) return
  }
  await create(t)
}

async function create (t: Target): Promise<void> {
  const { ctx, mailbox, conn, row } = t
  const log = ctx.log.child({ mailbox: mailbox.spec.name })
  const publicUrl = ctx.settings.publicUrl
  if (publicUrl === undefined) { await saveFailure(ctx.pool, mailbox.id, 'unavailable', NO_PUBLIC_URL); return }
  const graph = mailbox.spec.graph!
  // never two for one mailbox: the old one goes first (already gone: fine)
  if (row?.subscription_id != null) {
    await deleteSubscription(conn, row.subscription_id)
      .catch(err => log.warn({ err: bareError(err) }, 'old graph subscription not deleted'))
  }
  const clientState = newClientState()
  const request = {
    resource: resourceFor(graph.user, graph.folder ?? 'Inbox'),
    notificationUrl: `${publicUrl}/graph/notifications`,
    lifecycleNotificationUrl: `${publicUrl}/graph/lifecycle`,
    clientState,
    expirationDateTime: new Date(Date.now() + lifetimeMs(ctx.settings))
  }
  let sub
  try {
    sub = await createSubscription(conn, request)
  } catch (err) {
    await failed(ctx, mailbox.id, 'failed', `subscription not created: ${errorMessage(err)}`)
    log.warn({ err: bareError(err) }, 'graph subscription failed: the mailbox is polled')
    return
  }
  try {
    await transaction(ctx.pool, async (client) => {
      await saveActive(client, mailbox.id, {
        subscriptionId: sub.id, sealedClientState: sealClientState(ctx.keyring, clientState),
        resource: request.resource, notificationUrl: request.notificationUrl, expiresAt: sub.expirationDateTime
      })
      await send(ctx.boss, 'mailbox-sync', { mailboxId: mailbox.id, reason: 'resync' }, { singletonKey: syncKeys.now(mailbox.id), db: inTransaction(client) })
    })
  } catch (err) {
    // not stored: nobody would renew or delete it
    await deleteSubscription(conn, sub.id).catch(() => {})
    throw err
  }
  log.info({ subscriptionId: sub.id, expiresAt: sub.expirationDateTime }, 'graph subscription created')
  await scheduleRenewal(ctx, mailbox.id, Date.parse(sub.expirationDateTime))
}

/** False when the subscription is gone at Graph (then it is created anew). */
async function renew (t: Target, subscriptionId: string): Promise<boolean> {
  const { ctx, mailbox, conn } = t
  try {
    const expiresAt = await renewSubscription(conn, subscriptionId, new Date(Date.now() + lifetimeMs(ctx.settings)))
    await saveHealthy(ctx.pool, mailbox.id, expiresAt)
    await scheduleRenewal(ctx, mailbox.id, Date.parse(expiresAt))
    return true
  } catch (err) {
    if (statusOf(err) === 404) return false
    // still live until it expires: keep it, show the error, try again later
    await failed(ctx, mailbox.id, 'active', `renewal failed: ${errorMessage(err)}`)
    return true
  }
}

async function reauthorize (t: Target, subscriptionId: string): Promise<boolean> {
  const { ctx, mailbox, conn } = t
  try {
    await reauthorizeSubscription(conn, subscriptionId)
    await saveHealthy(ctx.pool, mailbox.id)
    ctx.log.info({ mailbox: mailbox.spec.name, subscriptionId }, 'graph subscription reauthorized')
    return true
  } catch (err) {
    if (statusOf(err) === 404) return false
    await failed(ctx, mailbox.id, 'active', `reauthorization failed: ${errorMessage(err)}`)
    throw err
  }
}

/** A failed attempt, recorded on the row and queued as a `subscription.failed` event in one transaction. */
async function failed (ctx: AppContext, mailboxId: number, state: SubscriptionState, message: string): Promise<void> {
  await transaction(ctx.pool, async (client) => {
    const { mailbox, error } = await saveFailure(client, mailboxId, state, message)
    await queueEvent(ctx, client, 'subscription.failed', { mailbox, error })
  })
}

/** The mailbox is polled now: its subscription goes. */
async function retire (t: Target): Promise<void> {
  if (t.row === null) return
  if (t.row.subscription_id !== null) await deleteSubscription(t.conn, t.row.subscription_id)
  await deleteSubscriptionRow(t.ctx.pool, t.mailbox.id)
}

/** An ensure job for when renewal is due (the minute scan is the safety net). */
async function scheduleRenewal (ctx: AppContext, mailboxId: number, expiresAt: number): Promise<void> {
  const at = new Date(Math.max(Date.now() + 1000, expiresAt - renewBeforeMs(ctx.settings)))
  await send(ctx.boss, 'graph-subscription', { mailboxId, action: 'ensure' }, { singletonKey: subscriptionKeys.renewal(mailboxId), startAfter: at })
}
