/**
 * Accepting change notifications fast (group commit). Items of concurrent
 * requests are verified and persisted together: one subscription lookup (for
 * ids not cached), one transaction with a row per accepted item and one
 * deduplicated mailbox-sync per mailbox. Each request is answered only after
 * the commit that holds its items. At low load a flush holds one request;
 * under load the requests that arrive during a flush share the next one, so
 * the database work per notification shrinks as the rate grows.
 */
import { transaction } from '../db/pool.ts'
import { inTransaction, insert } from '../queue/boss.ts'
import { allWaitingQuery } from '../queue/job-table.ts'
import { syncKeys } from '../queue/queues.ts'
import type { AppContext } from '../context.ts'
import type { KnownSubscriptions, NotificationItem, Verdict } from './known-subscriptions.ts'
import { asError } from '../shared/errors.ts'

/**
 * Transactions in flight at once. One rather than more: while it commits, the
 * next requests gather into the next batch, and fewer, larger transactions
 * cost PostgreSQL less per notification.
 */
const MAX_FLUSHES = 1
/** Items per transaction at most. */
const MAX_ITEMS = 2000

interface Pending { items: NotificationItem[], resolve: () => void, reject: (err: Error) => void }

interface Accepted { item: NotificationItem, mailboxId: number }

const text = (v: unknown, max: number): string => (typeof v === 'string' ? v : '').slice(0, max)

/** The message id: resourceData.id, else the last segment of `resource` (Users/{guid}/Messages/{id}). */
function resourceId (item: NotificationItem): string {
  const id = item.resourceData?.id
  if (typeof id === 'string' && id !== '') return id.slice(0, 512)
  return text(item.resource, 2048).split('/').pop()?.slice(0, 512) ?? ''
}

export class NotificationWriter {
  private readonly ctx: AppContext
  private readonly known: KnownSubscriptions
  private readonly waiting: Pending[] = []
  private running = 0

  constructor (ctx: AppContext, known: KnownSubscriptions) {
    this.ctx = ctx
    this.known = known
  }

  /** Resolves once the accepted items among these are committed; rejects when persisting failed. */
  async accept (items: NotificationItem[]): Promise<void> {
    if (items.length === 0) return
    await new Promise<void>((resolve, reject) => {
      this.waiting.push({ items, resolve, reject })
      this.pump()
    })
  }

  private pump (): void {
    while (this.running < MAX_FLUSHES && this.waiting.length > 0) {
      const batch: Pending[] = []
      let count = 0
      while (this.waiting.length > 0 && (batch.length === 0 || count + this.waiting[0].items.length <= MAX_ITEMS)) {
        const next = this.waiting.shift() as Pending
        batch.push(next)
        count += next.items.length
      }
      this.running++
      // the next flush waits for this turn's I/O: requests already read by then join it
      void this.flush(batch).finally(() => { setImmediate(() => { this.running--; this.pump() }) })
    }
  }

  private async flush (batch: Pending[]): Promise<void> {
    try {
      const items = batch.flatMap(p => p.items)
      const verdicts = await this.known.verify(items)
      const counts = new Map<Verdict, number>()
      const accepted: Accepted[] = []
      verdicts.forEach((v, i) => {
        counts.set(v.verdict, (counts.get(v.verdict) ?? 0) + 1)
        if (v.mailboxId !== undefined) accepted.push({ item: items[i], mailboxId: v.mailboxId })
      })
      if (accepted.length > 0) await this.persist(accepted)
      for (const [result, n] of counts) this.ctx.metrics.notifications.inc({ result }, n)
      for (const p of batch) p.resolve()
    } catch (err) {
      this.ctx.log.error({ err }, 'graph notifications could not be persisted')
      for (const p of batch) p.reject(asError(err))
    }
  }

  /**
   * Rows and syncs in one transaction. Under a burst every mailbox concerned
   * usually has an immediate sync still waiting (created, not started): then
   * it needs no other, and one statement inserts the rows (see FAST_INSERT).
   * Otherwise rows and sync jobs go in one transaction; the stately queue
   * keeps one waiting sync per mailbox.
   */
  private async persist (accepted: Accepted[]): Promise<void> {
    const mailboxes = [...new Set(accepted.map(a => a.mailboxId))]
    const rows = [accepted.map(a => a.item.subscriptionId), accepted.map(a => resourceId(a.item)),
      accepted.map(a => text(a.item.changeType, 100)), accepted.map(a => a.mailboxId)]
    const keys = mailboxes.map(id => syncKeys.now(id))
    const fast = await this.ctx.pool.query<{ inserted: boolean }>({ name: 'graph-notifications-fast', text: FAST_INSERT, values: [...rows, keys] })
      // an optimisation only: if pg-boss's table ever answers otherwise, take the general path
      .catch(() => ({ rows: [{ inserted: false }] }))
    if (fast.rows[0].inserted) return
    await transaction(this.ctx.pool, async (client) => {
      await client.query({ name: 'graph-notifications-insert', text: INSERT, values: rows })
      // same singleton key as requestSync: one waiting sync per mailbox sees all of its new mail
      await insert(this.ctx.boss, 'mailbox-sync', mailboxes.map(mailboxId => ({
        data: { mailboxId, reason: 'notification' }, singletonKey: syncKeys.now(mailboxId)
      })), { db: inTransaction(client) })
    })
  }
}

const INSERT = `INSERT INTO graph_notifications (subscription_id, resource_id, change_type, mailbox_id)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])`

/**
 * The rows, inserted only if every mailbox ($5: singleton keys) already has
 * an immediate sync waiting in pg-boss's job table; `inserted` says whether.
 * The stately queue would refuse a second sync anyway, but its insert costs
 * far more than this look-up. Safe: a sync still waiting now starts listing
 * after this moment, so it sees the message notified about (which exists
 * before Graph notifies).
 */
const FAST_INSERT = `
  WITH waiting AS (
    ${allWaitingQuery('mailbox-sync', 5)}
  ), ins AS (
    INSERT INTO graph_notifications (subscription_id, resource_id, change_type, mailbox_id)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) WHERE (SELECT all_waiting FROM waiting)
  )
  SELECT all_waiting AS inserted FROM waiting`
