/**
 * Which mailbox a notification's subscriptionId belongs to, and its
 * clientState. Graph names the mailbox user by GUID in `resource`, so the
 * subscription id is the only key. Looked up in batches and kept briefly in
 * memory: a subscription's id, mailbox and clientState never change, and a
 * deleted one stops being accepted once its entry ages out.
 */
import type { Queryable } from '../db/pool.ts'
import { clientStateMatches, openClientState } from './client-state.ts'
import { UndecryptableError, type Keyring } from '../shared/crypto.ts'
import type { Logger } from '../shared/logger.ts'

/** clientState null: stored under a key not listed; its notifications do not match (logged once per cache lifetime). */
export interface KnownSubscription { mailboxId: number, clientState: Buffer | null }

/** How long a looked-up subscription is trusted without asking the database again. Default 60 s. */
const TTL_MS = 60_000
/** Entries kept at most; beyond it the cache starts over (forged ids cannot grow it: unknown ids are not kept). */
const MAX_ENTRIES = 100_000

/** A notification item as Graph sends it (change or lifecycle). */
export interface NotificationItem {
  subscriptionId?: unknown
  clientState?: unknown
  changeType?: unknown
  lifecycleEvent?: unknown
  resource?: unknown
  resourceData?: { id?: unknown } | null
}

export type Verdict = 'accepted' | 'unknown_subscription' | 'client_state_mismatch' | 'malformed'

export class KnownSubscriptions {
  private readonly db: Queryable
  private readonly keyring: Keyring
  private readonly log: Logger
  private readonly entries = new Map<string, { value: KnownSubscription, until: number }>()

  constructor (db: Queryable, keyring: Keyring, log: Logger) {
    this.db = db
    this.keyring = keyring
    this.log = log
  }

  private open (r: { subscription_id: string, mailbox_id: number, client_state: Buffer }): Buffer | null {
    try {
      return Buffer.from(openClientState(this.keyring, r.client_state))
    } catch (err) {
      if (!(err instanceof UndecryptableError)) throw err
      this.log.error({ subscriptionId: r.subscription_id, mailboxId: r.mailbox_id, err }, 'graph subscription clientState unreadable: notifications refused')
      return null
    }
  }

  /** The known subscriptions among `ids`, one query for those not cached. */
  async lookup (ids: string[]): Promise<Map<string, KnownSubscription>> {
    const now = Date.now()
    const found = new Map<string, KnownSubscription>()
    const missing: string[] = []
    for (const id of new Set(ids)) {
      const entry = this.entries.get(id)
      if (entry !== undefined && entry.until > now) found.set(id, entry.value)
      else missing.push(id)
    }
    if (missing.length === 0) return found
    const { rows } = await this.db.query<{ subscription_id: string, mailbox_id: number, client_state: Buffer }>(
      `SELECT subscription_id, mailbox_id, client_state FROM graph_subscriptions
       WHERE subscription_id = ANY($1::text[]) AND client_state IS NOT NULL`, [missing])
    if (this.entries.size + rows.length > MAX_ENTRIES) this.entries.clear()
    for (const r of rows) {
      const value = { mailboxId: r.mailbox_id, clientState: this.open(r) }
      this.entries.set(r.subscription_id, { value, until: now + TTL_MS })
      found.set(r.subscription_id, value)
    }
    return found
  }

  /** Each item's verdict and, when accepted, its mailbox. */
  async verify (items: NotificationItem[]): Promise<Array<{ verdict: Verdict, mailboxId?: number }>> {
    const ids = items.map(i => i.subscriptionId).filter((id): id is string => typeof id === 'string' && id !== '' && id.length <= 200)
    const known = ids.length === 0 ? new Map<string, KnownSubscription>() : await this.lookup(ids)
    return items.map(item => {
      if (typeof item.subscriptionId !== 'string') return { verdict: 'malformed' }
      const sub = known.get(item.subscriptionId)
      if (sub === undefined) return { verdict: 'unknown_subscription' }
      if (sub.clientState === null || !clientStateMatches(item.clientState, sub.clientState)) return { verdict: 'client_state_mismatch' }
      return { verdict: 'accepted', mailboxId: sub.mailboxId }
    })
  }
}
