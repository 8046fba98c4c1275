/** How long subscriptions live and when they are renewed, from the settings. */
import type { Settings } from '../../config/settings.ts'

const DAY_MS = 24 * 3600 * 1000

/** The lifetime asked for (MAILSLOT_GRAPH_SUBSCRIPTION_MINUTES; Graph may raise a short one to 45 minutes). */
export function lifetimeMs (settings: Settings): number {
  return settings.graphSubscriptionMinutes * 60_000
}

/** Renew once less than this is left: half the lifetime, at most a day (reference/graph.md). */
export function renewBeforeMs (settings: Settings): number {
  return Math.min(DAY_MS, lifetimeMs(settings) / 2)
}

/** Seconds between safety syncs of a mailbox whose subscription is live (MAILSLOT_GRAPH_RESYNC_SECONDS). */
export function resyncSeconds (settings: Settings): number {
  return settings.graphResyncSeconds
}
