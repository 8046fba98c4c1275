/** Which free push mailboxes a process takes, within its caps. */

export interface PushCaps {
  /** IDLE connections of the process (MAILSLOT_IMAP_PUSH_MAX). */
  perProcess: number
  /** IDLE connections of the process to one IMAP server (MAILSLOT_IMAP_PUSH_MAX_PER_HOST). */
  perHost: number
  /** New ones in one turn: logins spread over time and over the processes. */
  perTurn: number
}

/**
 * The ids of `free` (in the order given) to take, given the hosts of the
 * connections already held: a process at a cap leaves the rest to others.
 */
export function chooseToAcquire (free: Array<{ id: number, host: string }>, heldHosts: string[], caps: PushCaps): number[] {
  const perHost = new Map<string, number>()
  for (const h of heldHosts) perHost.set(h, (perHost.get(h) ?? 0) + 1)
  const room = Math.min(caps.perProcess - heldHosts.length, caps.perTurn)
  const chosen: number[] = []
  for (const m of free) {
    if (chosen.length >= room) break
    const n = perHost.get(m.host) ?? 0
    if (n >= caps.perHost) continue
    perHost.set(m.host, n + 1)
    chosen.push(m.id)
  }
  return chosen
}
