/**
 * Graph throttles per app + mailbox: at most 4 concurrent requests, and a 429
 * with Retry-After means the whole mailbox must wait, not only the request
 * that got it (the SDK retries that one by itself). One gate per mailbox,
 * shared by every provider, job and subscription call of this process.
 */

/** Concurrent requests per mailbox (Graph's limit). */
export const MAILBOX_CONCURRENCY = 4
/** Longest pause a Retry-After may impose. Default 180 s, as the SDK caps its retry delay. */
const MAX_PAUSE_MS = 180_000

export class MailboxGate {
  private readonly limit: number
  private active = 0
  private readonly waiting: Array<() => void> = []
  private pausedUntil = 0

  constructor (limit = MAILBOX_CONCURRENCY) { this.limit = limit }

  /** Runs `fn` once one of the mailbox's slots is free; the slot is held until it settles. */
  async run<T> (fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>(resolve => this.waiting.push(resolve))
    else this.active++
    try {
      return await fn()
    } finally {
      const next = this.waiting.shift()
      // hand the slot over directly: no newcomer can overtake a waiter
      if (next !== undefined) next()
      else this.active--
    }
  }

  /** Resolves once no Retry-After pause is in force (checked before every HTTP attempt). */
  async whenOpen (): Promise<void> {
    for (let wait = this.pausedUntil - Date.now(); wait > 0; wait = this.pausedUntil - Date.now()) {
      await new Promise(resolve => setTimeout(resolve, wait))
    }
  }

  /** A 429 said to wait: every request of this mailbox waits at least that long. */
  pause (ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + Math.min(Math.max(ms, 0), MAX_PAUSE_MS))
  }

  get inFlight (): number { return this.active }
}

/** Retry-After in milliseconds: seconds (fractions allowed) or an HTTP date; 1 s when missing. */
export function retryAfterMs (header: string | null | undefined, now = Date.now()): number {
  if (header === null || header === undefined || header.trim() === '') return 1000
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return seconds * 1000
  const at = Date.parse(header)
  return Number.isNaN(at) ? 1000 : at - now
}

const gates = new Map<string, MailboxGate>()

/** The process-wide gate of one mailbox (key: Graph host + tenant + app + user). */
export function gateFor (key: string): MailboxGate {
  let gate = gates.get(key)
  if (gate === undefined) {
    gate = new MailboxGate()
    gates.set(key, gate)
  }
  return gate
}
