/** Prometheus metrics: one registry per process (not the global one, so tests can build several apps). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

export interface Metrics {
  registry: Registry
  syncs: Counter<'result'>
  emailsStored: Counter<'mailbox'>
  emailsFinished: Counter<'status'>
  notifications: Counter<'result'>
  /** Tries to POST an operator event (src/events), by result. */
  events: Counter<'result'>
  /** Read from the database at scrape time, so every process reports the same truth. */
  mailboxes: Gauge<'state'>
}

/** `mailboxesByHealth` is read at every scrape (src/mailboxes/health.ts: countByHealth). */
export function createMetrics (mailboxesByHealth: () => Promise<Array<{ state: string, n: number }>>): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const metrics: Metrics = {
    registry,
    syncs: new Counter({ name: 'mailslot_mailbox_syncs_total', help: 'Mailbox syncs by result', labelNames: ['result'], registers: [registry] }),
    emailsStored: new Counter({ name: 'mailslot_emails_stored_total', help: 'Emails stored from a provider', labelNames: ['mailbox'], registers: [registry] }),
    emailsFinished: new Counter({ name: 'mailslot_emails_finished_total', help: 'Emails that reached an end state in this process', labelNames: ['status'], registers: [registry] }),
    notifications: new Counter({ name: 'mailslot_graph_notifications_total', help: 'Graph notification items by result', labelNames: ['result'], registers: [registry] }),
    events: new Counter({ name: 'mailslot_operator_events_total', help: 'Tries to deliver an operator event, by result (delivered, failed)', labelNames: ['result'], registers: [registry] }),
    mailboxes: new Gauge({
      name: 'mailslot_mailboxes',
      help: 'Mailboxes by health state',
      labelNames: ['state'],
      registers: [registry],
      async collect () {
        this.reset()
        for (const r of await mailboxesByHealth()) this.set({ state: r.state }, r.n)
      }
    })
  }
  return metrics
}
