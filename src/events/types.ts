/**
 * Operator events (docs/events.md): what happened to a mailbox, POSTed to
 * MAILSLOT_EVENTS_URL as Standard Webhooks, body `{type, timestamp, data}`.
 * A field may be added within a type; none is renamed, retyped or removed.
 */
import type { HealthState } from '../mailboxes/types.ts'

export interface EventData {
  /** A mailbox's health state changed; `from` is null for a new mailbox. */
  'mailbox.health_changed': { mailbox: string, from: HealthState | null, to: HealthState, error: string | null }
  /** A Graph change-notification subscription could not be created, renewed or reauthorized. */
  'subscription.failed': { mailbox: string, error: string }
}

export type EventType = keyof EventData

/** An event as queued and as POSTed; `timestamp` (ISO 8601) is when it happened, the same on every try. */
export type OperatorEvent = { [T in EventType]: { type: T, timestamp: string, data: EventData[T] } }[EventType]
