/**
 * The poller: every worker process polls the mailboxes whose poll is due,
 * without a job per poll. One statement claims a round of them (each one's
 * sync lock taken on the poller's own connection, its poll start recorded,
 * claimDuePolls); each is synced as an on-demand sync is (sync.ts); one
 * statement records the outcomes of the polls that ended meanwhile and lets
 * go of their locks (recordPollsAndUnlock). An empty poll thus costs the
 * mail server a login, a STATUS and a logout (src/providers/imap), and PostgreSQL its share of
 * two statements.
 *
 * Between rounds it sleeps until the soonest mailbox is due: at least TICK_MS,
 * so that polls falling due close together share one claim (a poll is late
 * by at most that much), and at most LOOK_MS, so that a mailbox another
 * process made due sooner is seen. Processes claim with SKIP LOCKED and the
 * sync locks, so a due poll runs once across the installation, and a
 * mailbox whose on-demand sync runs elsewhere is polled after it. A claim
 * moves the mailbox's next poll CLAIM_LEASE_SECONDS on: should the process
 * die mid-poll, the mailbox is polled again then. A mailbox just made is
 * claimed at once: its maker wakes the pollers (wakePollers), which LISTEN on
 * their connection.
 */
import type { PoolClient } from 'pg'
import type { AppContext } from '../context.ts'
import { releaseClient } from '../db/pool.ts'
import { recordPollsAndUnlock, type PollOutcome } from '../mailboxes/health.ts'
import type { MailboxRow } from '../mailboxes/repository.ts'
import { claimDuePolls } from '../mailboxes/sync-state.ts'
import { bareError } from '../shared/errors.ts'
import { pollClaimed } from './sync.ts'
import { POLL_CHANNEL } from './request-sync.ts'

/** Polls run at once per process (IMAP logins are mostly waiting); as many more wait claimed. */
export const POLL_CONCURRENCY = 16
const TICK_MS = 1000
const LOOK_MS = 5000
/** Outcomes are recorded together: when a round is done, POLL_CONCURRENCY have ended, or the first waited this long. */
const RECORD_WITHIN_MS = 200
const CLAIM_LEASE_SECONDS = 120
/** A wake-up (wakePollers: a mailbox made) claims this soon after the last claim at the earliest. */
const WAKE_SPACING_MS = 100

export interface PollerOptions {
  /** Shortest sleep between claims, ms (tests shorten it). */
  tickMs?: number
}

/** Starts polling; returns the function that stops it once the polls under way have ended and been recorded. */
export function startPoller (ctx: AppContext, opts: PollerOptions = {}): () => Promise<void> {
  const log = ctx.log.child({ component: 'poller' })
  const tickMs = opts.tickMs ?? TICK_MS
  const claimed: MailboxRow[] = []
  const running = new Set<Promise<void>>()
  let outcomes: PollOutcome[] = []
  let client: PoolClient | undefined
  let stopped = false
  let failing = false
  let claiming = false
  /** The last claim filled every slot: more are due, claimed once these have all started. */
  let backlog = false
  let timer: NodeJS.Timeout | undefined
  let recordTimer: NodeJS.Timeout | undefined
  let recording: Promise<void> = Promise.resolve()
  let claimTurn: Promise<void> = Promise.resolve()
  let lastClaimAt = 0
  /** Woken while a claim was under way: claim again after it. */
  let wanted = false

  const connection = async (): Promise<PoolClient> => {
    if (client !== undefined) return client
    const c = await ctx.pool.connect()
    c.on('notification', wake)
    try {
      await c.query(`LISTEN ${POLL_CHANNEL}`)
    } catch (err) {
      releaseClient(c, err)
      throw err
    }
    client = c
    return c
  }
  /** A mailbox was made due now: claimed after the claim under way, or WAKE_SPACING_MS after the last. */
  function wake (): void {
    if (claiming) { wanted = true; return }
    sleep(Math.max(0, lastClaimAt + WAKE_SPACING_MS - Date.now()))
  }
  /** A statement failed: the connection goes, and the sync locks with it. */
  const broken = (err: unknown, what: string): void => {
    if (client !== undefined) { client.off('notification', wake); releaseClient(client, err) }
    client = undefined
    if (!failing) log.warn({ err: bareError(err) }, `poller: ${what} failed`)
    failing = true
  }
  const sleep = (ms: number): void => {
    clearTimeout(timer)
    if (!stopped) timer = setTimeout(() => { void claim() }, ms)
  }

  async function claim (): Promise<void> {
    if (stopped || claiming) return
    claiming = true
    lastClaimAt = Date.now()
    claimTurn = claimRound()
    await claimTurn
    if (wanted) { wanted = false; wake() }
  }

  async function claimRound (): Promise<void> {
    try {
      const { rows, nextDue } = await claimDuePolls(await connection(), POLL_CONCURRENCY, CLAIM_LEASE_SECONDS)
      failing = false
      claimed.push(...rows)
      backlog = rows.length === POLL_CONCURRENCY
      const soonest = nextDue === null ? LOOK_MS : nextDue.getTime() - Date.now()
      sleep(Math.min(Math.max(soonest, tickMs), LOOK_MS))
    } catch (err) {
      broken(err, 'claiming due polls')
      sleep(LOOK_MS)
    } finally {
      claiming = false
    }
    startPolls()
  }

  function startPolls (): void {
    while (running.size < POLL_CONCURRENCY && claimed.length > 0) {
      const row = claimed.shift() as MailboxRow
      const poll = pollOne(row).finally(() => {
        running.delete(poll)
        startPolls()
      })
      running.add(poll)
    }
    if (claimed.length === 0 && backlog) void claim()
  }

  async function pollOne (row: MailboxRow): Promise<void> {
    let nextPollSeconds: number | undefined
    if (!stopped) {
      try {
        nextPollSeconds = await pollClaimed(ctx, row)
      } catch (err) {
        // recorded in the mailbox's health already (its secrets cannot be read)
        log.warn({ err: bareError(err), mailbox: row.name }, 'poll failed')
      }
    }
    outcomes.push({ mailboxId: row.id, nextPollSeconds })
    if (outcomes.length >= POLL_CONCURRENCY || (running.size <= 1 && claimed.length === 0)) record()
    else recordTimer ??= setTimeout(record, RECORD_WITHIN_MS)
  }

  function record (): void {
    clearTimeout(recordTimer)
    recordTimer = undefined
    recording = recording.then(async () => {
      const batch = outcomes
      outcomes = []
      if (batch.length === 0 || client === undefined) return
      try {
        await recordPollsAndUnlock(ctx, client, batch)
      } catch (err) {
        // their next polls stay where the claim put them
        broken(err, 'recording polls')
      }
    })
  }

  timer = setTimeout(() => { void claim() }, 0)
  return async () => {
    stopped = true
    clearTimeout(timer)
    await claimTurn
    // claimed and not started: let go, polled again when their claim lapses
    for (const row of claimed.splice(0)) outcomes.push({ mailboxId: row.id })
    while (running.size > 0) await Promise.all(running)
    record()
    await recording
    // not back to the pool: whatever lock it might still hold ends with it
    if (client !== undefined) releaseClient(client, new Error('poller stopped'))
    client = undefined
  }
}
