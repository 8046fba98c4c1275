// Outbound calls to the subscriber: validation handshakes, change
// notifications (batched per URL, retried with backoff) and lifecycle events.
import { randomUUID } from 'node:crypto'

export interface Delivery {
  kind: 'change' | 'lifecycle' | 'validation'
  url: string
  items: number
  attempt: number
  status?: number
  error?: string
  at: number
}

export interface NotifierOptions {
  batchWindowMs: number
  maxBatch: number
  retryDelaysMs: number[]
  timeoutMs: number
}

type HandshakeResult = { ok: true } | { ok: false; timedOut: boolean; reason: string }

export class Notifier {
  readonly deliveries: Delivery[] = []
  /** off for benchmarks: one entry per POST attempt otherwise */
  log = true
  private readonly options: NotifierOptions
  private readonly pending = new Map<string, object[]>()
  private readonly inFlight = new Set<Promise<unknown>>()
  private readonly closing = new AbortController()
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor (options: NotifierOptions) { this.options = options }

  /**
   * Graph's handshake: POST url?validationToken=<form-encoded token>, empty
   * text/plain body; the answer must be 200 text/plain with the decoded token.
   */
  async validate (url: string, timeoutMs: number): Promise<HandshakeResult> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`
    const target = new URL(url)
    target.searchParams.append('validationToken', token) // URLSearchParams form-encodes: ' ' → '+', ':' → '%3A'
    const delivery: Delivery = { kind: 'validation', url, items: 0, attempt: 1, at: Date.now() }
    if (this.log) this.deliveries.push(delivery)
    try {
      const res = await fetch(target, {
        method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '',
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.closing.signal]),
      })
      const body = await res.text()
      delivery.status = res.status
      const type = res.headers.get('content-type') ?? ''
      if (res.status !== 200) return { ok: false, timedOut: false, reason: `Notification endpoint must respond with 200 OK to validation request (got ${res.status}).` }
      if (!type.toLowerCase().startsWith('text/plain')) return { ok: false, timedOut: false, reason: `Response must be text/plain (got '${type}').` }
      if (body !== token) return { ok: false, timedOut: false, reason: 'Response must exactly match validationToken query parameter.' }
      return { ok: true }
    } catch (err) {
      delivery.error = String((err as Error).cause ?? err)
      const timedOut = (err as Error).name === 'TimeoutError'
      return { ok: false, timedOut, reason: timedOut ? 'Subscription validation request timeout.' : `Notification endpoint must respond with 200 OK to validation request (${delivery.error}).` }
    }
  }

  /** Queue a change notification item; items for one URL within the batch window go out together. */
  enqueue (url: string, item: object): void {
    let batch = this.pending.get(url)
    if (!batch) {
      batch = []
      this.pending.set(url, batch)
      this.later(this.options.batchWindowMs, () => this.flush(url))
    }
    batch.push(item)
  }

  /** Send one POST {"value": items} now (lifecycle events), with the usual retries. */
  send (kind: Delivery['kind'], url: string, items: object[]): Promise<boolean> {
    return this.track(this.deliver(kind, url, items))
  }

  /** Resolves once every queued or retrying delivery has finished. */
  async settled (): Promise<void> {
    while (this.pending.size > 0 || this.inFlight.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, this.options.batchWindowMs)))
      await Promise.allSettled([...this.inFlight])
    }
  }

  close (): void {
    this.closing.abort()
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.pending.clear()
  }

  private flush (url: string): void {
    const items = this.pending.get(url) ?? []
    this.pending.delete(url)
    for (let i = 0; i < items.length; i += this.options.maxBatch) {
      void this.send('change', url, items.slice(i, i + this.options.maxBatch))
    }
  }

  private async deliver (kind: Delivery['kind'], url: string, items: object[]): Promise<boolean> {
    const body = JSON.stringify({ value: items })
    for (let attempt = 1; ; attempt++) {
      if (this.closing.signal.aborted) return false
      const delivery: Delivery = { kind, url, items: items.length, attempt, at: Date.now() }
      if (this.log) this.deliveries.push(delivery)
      try {
        const res = await fetch(url, {
          method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body,
          signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.closing.signal]),
        })
        await res.arrayBuffer()
        delivery.status = res.status
        if (res.status >= 200 && res.status < 300) return true
      } catch (err) {
        delivery.error = String((err as Error).cause ?? err)
      }
      const wait = this.options.retryDelaysMs[attempt - 1]
      if (wait === undefined) return false
      await new Promise<void>((resolve) => {
        this.later(wait, resolve)
        this.closing.signal.addEventListener('abort', () => resolve(), { once: true })
      })
    }
  }

  private later (ms: number, fn: () => void): void {
    const timer = setTimeout(() => { this.timers.delete(timer); fn() }, ms)
    this.timers.add(timer)
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise)
    void promise.finally(() => this.inFlight.delete(promise))
    return promise
  }
}
