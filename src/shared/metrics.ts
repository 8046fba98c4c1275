/** Prometheus metrics: one registry per process (not the global one, so tests can build several apps). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { Queryable } from '../db/pool.ts'

export interface Metrics {
  registry: Registry
  syncs: Counter<'result'>
  emailsStored: Counter<'mailbox'>
  emailsFinished: Counter<'status'>
  notifications: Counter<'result'>
}

export function createMetrics (db: Queryable): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const metrics: Metrics = {
    registry,
    syncs: new Counter({ name: 'mailslot_mailbox_syncs_total', help: 'Mailbox syncs by result', labelNames: ['result'], registers: [registry] }),
    emailsStored: new Counter({ name: 'mailslot_emails_stored_total', help: 'Emails stored from a provider', labelNames: ['mailbox'], registers: [registry] }),
    emailsFinished: new Counter({ name: 'mailslot_emails_finished_total', help: 'Emails that reached an end state in this process', labelNames: ['status'], registers: [registry] }),
    notifications: new Counter({ name: 'mailslot_graph_notifications_total', help: 'Graph notification items by result', labelNames: ['result'], registers: [registry] })
  }
  // state read from the database at scrape time, so every process reports the same truth
  new Gauge({
    name: 'mailslot_mailboxes',
    help: 'Mailboxes by health state',
    labelNames: ['state'],
    registers: [registry],
    async collect () {
      this.reset()
      const { rows } = await db.query<{ state: string, n: number }>('SELECT health_state AS state, count(*)::int AS n FROM mailboxes GROUP BY 1')
      for (const r of rows) this.set({ state: r.state }, r.n)
    }
  })
  return metrics
}
