/**
 * Operator events for a test: a local receiving endpoint that verifies every
 * request with the `standardwebhooks` package (test/handlers/delivery-endpoint.ts),
 * and the environment that points a mailslot runtime at it.
 */
import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { startEndpoint, webhookCheck, type Endpoint, type Received, type Responder } from '../handlers/delivery-endpoint.ts'
import type { OperatorEvent } from '../../src/events/types.ts'
import type { TestRuntime } from '../helpers/runtime.ts'
import { countRows } from '../helpers/rows.ts'

export interface EventsEndpoint extends Endpoint {
  secret: string
  /** MAILSLOT_EVENTS_URL and _SECRET for it, and loopback allowed. */
  env: Record<string, string>
  /** The events of the requests that passed the signature check, in arrival order. */
  events: () => OperatorEvent[]
}

export async function startEventsEndpoint (t: Test, responder?: Responder): Promise<EventsEndpoint> {
  const secret = `whsec_${randomBytes(24).toString('base64')}`
  const endpoint = await startEndpoint(t, webhookCheck(secret), responder)
  return Object.assign(endpoint, {
    secret,
    env: { MAILSLOT_EVENTS_URL: `${endpoint.url}/mailslot-events`, MAILSLOT_EVENTS_SECRET: secret, MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'true' },
    events: () => endpoint.received.filter(r => r.authError === undefined).map(eventOf)
  })
}

export function eventOf (r: Received): OperatorEvent {
  return JSON.parse(r.body.toString('utf8')) as OperatorEvent
}

/** operator-event jobs pg-boss holds, whatever their state. */
export async function queuedEvents (rt: TestRuntime): Promise<number> {
  return await countRows(rt, `SELECT count(*)::int AS n FROM mailslot_boss.job WHERE name = 'operator-event'`)
}
