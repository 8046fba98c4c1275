/**
 * Queues an operator event for delivery (deliver.ts): through `db`, so that
 * it commits with the change it reports when the caller has a transaction.
 * With MAILSLOT_EVENTS_URL unset nothing is queued, not one statement.
 */
import type { AppContext } from '../context.ts'
import type { Queryable } from '../db/pool.ts'
import { inTransaction, send } from '../queue/boss.ts'
import type { EventData, EventType, OperatorEvent } from './types.ts'

/** What queueing an event needs: the settings say whether events are on, pg-boss queues them. */
export type EventsContext = Pick<AppContext, 'settings' | 'boss'>

export async function queueEvent<T extends EventType> (
  ctx: EventsContext, db: Queryable, type: T, data: EventData[T], at = new Date()
): Promise<void> {
  if (ctx.settings.events === undefined) return
  const event = { type, timestamp: at.toISOString(), data } as OperatorEvent
  await send(ctx.boss, 'operator-event', event, { db: inTransaction(db) })
}
