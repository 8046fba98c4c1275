/**
 * When a mailbox that just synced fine is synced next, per provider kind:
 * registered by the modules that know better (src/graph-webhooks for Graph),
 * so that ingestion imports none of them. Without a hook: its poll interval.
 */
import type { Mailbox } from '../mailboxes/types.ts'
import type { AppContext } from '../context.ts'

/** Seconds until the next sync, given the mailbox's poll interval; may queue work of its own. */
export type NextSyncHook = (ctx: AppContext, mailbox: Mailbox, pollSeconds: number) => Promise<number>

const hooks: Partial<Record<Mailbox['spec']['provider'], NextSyncHook>> = {}

export function registerNextSyncHook (kind: Mailbox['spec']['provider'], hook: NextSyncHook): void {
  hooks[kind] = hook
}

export async function nextSyncSeconds (ctx: AppContext, mailbox: Mailbox, pollSeconds: number): Promise<number> {
  const hook = hooks[mailbox.spec.provider]
  return hook === undefined ? pollSeconds : await hook(ctx, mailbox, pollSeconds)
}
