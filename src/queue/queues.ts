/**
 * Every pg-boss queue mailslot uses, with its payload type and its policy, in
 * one place: a job's shape is checked where it is sent and where it is worked.
 * Payloads carry ids, never raw mail: the raw bytes live in inbound_emails.
 */
import type { Queue } from 'pg-boss'
import type { OperatorEvent } from '../events/types.ts'

export interface QueuePayloads {
  /** List new messages of one mailbox; fetch the first batches itself, queue the rest as mailbox-fetch jobs. */
  'mailbox-sync': { mailboxId: number, reason: 'schedule' | 'manual' | 'notification' | 'resync' | 'push' }
  /** Download up to 25 messages, store them, queue email-handle, then mark them processed. */
  'mailbox-fetch': { mailboxId: number, refs: MessageRefPayload[] }
  /** Parse, route and handle stored emails: the ones one transaction stored together, or one to retry. */
  'email-handle': { emailIds: number[] }
  /** Purge raw originals past their retention. */
  retention: Record<string, never>
  /** Create, renew, reauthorize or recreate the Graph subscription of one mailbox (src/graph-webhooks/subscriptions). */
  'graph-subscription': { mailboxId: number, action: 'ensure' | 'reauthorize' | 'recreate', subscriptionId?: string }
  /** Scheduled every minute: graph-subscription jobs for what is due; purge of old notification rows. */
  'graph-subscription-scan': Record<string, never>
  /** POST one operator event to MAILSLOT_EVENTS_URL (src/events). */
  'operator-event': OperatorEvent
}

/**
 * Singleton keys of mailbox-sync jobs, which are on demand (scheduled polls are
 * src/ingestion/poller.ts's): the stately queue keeps one waiting
 * job per key, so each kind of request has its own and none delays another.
 */
export const syncKeys = {
  /** Wanted now (manual poll, notification, IMAP push, resync); the notification fast path looks for this one waiting. */
  now: (mailboxId: number): string => `${mailboxId}:now`,
  /** Asked again shortly by a sync that found another one running. */
  again: (mailboxId: number): string => `${mailboxId}:again`
}

type SubscriptionAction = QueuePayloads['graph-subscription']['action']

/** Singleton keys of graph-subscription jobs: one waiting per mailbox and action. */
export const subscriptionKeys = {
  action: (mailboxId: number, action: SubscriptionAction): string => `${mailboxId}:${action}`,
  /** Asked again shortly by a job that found another process at work on the subscription. */
  again: (mailboxId: number, action: SubscriptionAction): string => `${mailboxId}:${action}:again`,
  /** The ensure queued for when a subscription is due for renewal. */
  renewal: (mailboxId: number): string => `${mailboxId}:renew`
}

/** A provider message reference, as JSON (provider-specific fields; an undefined one is left out). */
export type MessageRefPayload = Record<string, string | number | boolean | null | undefined>

export type QueueName = keyof QueuePayloads

/** Seconds between worker heartbeats that pg-boss expects (its minimum is 10). */
export const HEARTBEAT = 10

export const QUEUES: Record<QueueName, Omit<Queue, 'name'>> = {
  // one queued + one active per mailbox and singleton key (syncKeys): a
  // notification arriving during a sync still gets its own pass afterwards
  // heartbeats: a job whose worker died (killed, machine lost) is failed or
  // retried within ~HEARTBEAT + the supervise interval, not after its expiry
  'mailbox-sync': { policy: 'stately', retryLimit: 0, expireInSeconds: 600, heartbeatSeconds: HEARTBEAT, notify: true },
  // a worker runs up to BATCHES_PER_SESSION of these in one session, one
  // after another: the expiry is the longest such session may take; a dead
  // worker is noticed by its heartbeats, not by this
  'mailbox-fetch': { policy: 'standard', retryLimit: 5, retryDelay: 5, retryBackoff: true, expireInSeconds: 3600, heartbeatSeconds: HEARTBEAT, notify: true },
  'email-handle': { policy: 'standard', retryLimit: 5, retryDelay: 2, retryBackoff: true, retryDelayMax: 300, expireInSeconds: 900, heartbeatSeconds: HEARTBEAT, notify: true },
  retention: { policy: 'exclusive', retryLimit: 0 },
  // keyed per mailbox and action; the work itself runs under a per-mailbox lock
  'graph-subscription': { policy: 'stately', retryLimit: 3, retryDelay: 10, retryBackoff: true, expireInSeconds: 300, notify: true },
  'graph-subscription-scan': { policy: 'exclusive', retryLimit: 0, expireInSeconds: 120 },
  // 12 retries 30 s apart, doubling (pg-boss adds up to as much again) to at
  // most an hour: an endpoint down for 6 hours still gets every event
  'operator-event': { policy: 'standard', retryLimit: 12, retryDelay: 30, retryBackoff: true, retryDelayMax: 3600, expireInSeconds: 120, notify: true }
}
