/**
 * A mailbox probe (`mailslot mailbox test`): the steps a poll goes through,
 * each passed or failed with the server's own words and, for a failure, what
 * they mean in plain words; then what a poll would take. A probe changes
 * nothing: folders are opened read-only, nothing is marked, stored or moved.
 */
import type { AfterDelivery } from '../mailboxes/types.ts'
import { errorMessage } from '../shared/errors.ts'
import type { AccessTokens } from './types.ts'

export type StepName = 'dns' | 'connect' | 'login' | 'folder' | 'list' | 'tenant' | 'token'

export interface ProbeStep {
  step: StepName
  ok: boolean
  /** What was found, or what the server said. */
  detail: string
  /** A failure in plain words: what it means and what to change. */
  explanation?: string
}

export interface PollPreview {
  /** Messages the next poll would take. */
  messages: number
  /** Received (IMAP: internal date), ISO 8601; null without messages. */
  oldest: string | null
  newest: string | null
  totalBytes: number | null
  largestBytes: number | null
  /** Messages over the mailbox's size limit: only their headers would be downloaded (rejected, too_large). */
  overLimit: number | null
  limitBytes: number
  /** IMAP RFC822.SIZE is exact; Graph's (Exchange's message size) approximate; unknown when the server tells none. */
  sizes: 'exact' | 'approximate' | 'unknown'
}

export interface ProbeReport { ok: boolean, steps: ProbeStep[], preview?: PollPreview }

export interface ProbeOptions {
  afterDelivery: AfterDelivery
  /** The mailbox's stored cursor: the probe lists from where the next poll would. */
  cursor: unknown
  /** The mailbox's size limit. */
  maxBytes: number
}

/** The steps of one probe; the first failure ends it. */
export class Probe {
  readonly steps: ProbeStep[] = []

  pass (step: StepName, detail: string): void {
    this.steps.push({ step, ok: true, detail })
  }

  fail (step: StepName, detail: string, explanation: string): ProbeReport {
    this.steps.push({ step, ok: false, detail, explanation })
    return { ok: false, steps: this.steps }
  }

  done (preview: PollPreview): ProbeReport {
    return { ok: true, steps: this.steps, preview }
  }
}

/**
 * A connected mailbox's access token, refreshed when due as before a poll
 * (the newest refresh token stored), as the `token` step; the failed report
 * when there is none.
 */
export async function probeToken (probe: Probe, tokens: AccessTokens | undefined, app: string): Promise<string | ProbeReport> {
  try {
    if (tokens === undefined) throw new Error('no access tokens were given for a connected mailbox')
    const { token } = await tokens.current()
    probe.pass('token', `the connected account's, through the OAuth app ${app}`)
    return token
  } catch (err) {
    return probe.fail('token', errorMessage(err), 'the account\'s grant is gone or cannot be refreshed: reconnect the mailbox through a new connect link')
  }
}

/** Folds the messages a poll would take into a preview, one at a time (no list of them is kept). */
export class PreviewTally {
  private readonly limit: number
  private readonly sizes: PollPreview['sizes']
  private oldest: number | null = null
  private newest: number | null = null
  private total = 0
  private largest = 0
  private over = 0
  private sized = 0

  constructor (limitBytes: number, sizes: PollPreview['sizes']) {
    this.limit = limitBytes
    this.sizes = sizes
  }

  add (received: Date | string | undefined, size: number | undefined): void {
    const at = received === undefined ? NaN : new Date(received).getTime()
    if (!Number.isNaN(at)) {
      this.oldest = Math.min(this.oldest ?? at, at)
      this.newest = Math.max(this.newest ?? at, at)
    }
    if (size === undefined) return
    this.sized++
    this.total += size
    this.largest = Math.max(this.largest, size)
    if (size > this.limit) this.over++
  }

  preview (messages: number): PollPreview {
    const known = this.sized > 0 || messages === 0
    const iso = (ms: number | null): string | null => ms === null ? null : new Date(ms).toISOString()
    return {
      messages,
      oldest: iso(this.oldest),
      newest: iso(this.newest),
      totalBytes: known ? this.total : null,
      largestBytes: known ? this.largest : null,
      overLimit: known ? this.over : null,
      limitBytes: this.limit,
      sizes: known ? this.sizes : 'unknown'
    }
  }
}
