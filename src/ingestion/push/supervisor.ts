/**
 * IMAP push (imap.push: true) in the worker role: one IDLE connection per
 * push mailbox across the installation, held by the process holding the
 * mailbox's lease (src/mailboxes/push-leases.ts).
 *
 * Every RENEW_SECONDS each process runs one statement: it renews its leases
 * and lists the push mailboxes. It then lets go of the connections whose
 * lease it lost (mailbox deleted, push turned off, login failing), makes
 * again those whose settings changed, and takes free or expired leases up to
 * its caps (caps.ts). A process killed outright leaves its leases to expire:
 * another takes them within LEASE_SECONDS + RENEW_SECONDS (25 s). A process
 * stopped gracefully releases them at once.
 *
 * A lease row rather than a session advisory lock: a lock dies with its
 * session at once, so takeover after a crash would be faster, but it needs a
 * dedicated connection per process (not through a transaction pooler), and
 * a holder cut off from PostgreSQL cannot tell when the server dropped its
 * session, so another process may hold the mailbox while the first one still
 * idles. A lease has an expiry the holder knows: one that cannot renew lets
 * its connections go FENCE_MARGIN_SECONDS before its lease can have expired,
 * so two processes never idle on one mailbox. The price is the expiry's wait
 * before a takeover.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { AppContext } from '../../context.ts'
import { acquireLeases, releaseLeases, renewAndList, type PushMailbox } from '../../mailboxes/push-leases.ts'
import { bareError } from '../../shared/errors.ts'
import { chooseToAcquire, type PushCaps } from './caps.ts'
import { IdleWatcher } from './watcher.ts'

/** A lease's life from its last renewal. */
export const LEASE_SECONDS = 20
/** How often a process renews its leases and looks for free ones. */
export const RENEW_SECONDS = 5
/** A holder that could not renew lets its connections go this long before its lease expires. */
const FENCE_MARGIN_SECONDS = 5
/** New leases a process takes in one turn (logins spread over time and processes). */
const NEW_PER_TURN = 50

export interface PushOptions {
  /** Milliseconds between re-issued IDLE commands (tests shorten it). Default: watcher.ts RE_IDLE_MS. */
  reIdleMs?: number
}

/** Starts holding push mailboxes; returns the function that lets them all go. */
export function startImapPush (ctx: AppContext, opts: PushOptions = {}): () => Promise<void> {
  if (ctx.settings.imapPushMax === 0) return async () => {}
  const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  const log = ctx.log.child({ component: 'imap-push' })
  const caps: PushCaps = { perProcess: ctx.settings.imapPushMax, perHost: ctx.settings.imapPushMaxPerHost, perTurn: NEW_PER_TURN }
  const watchers = new Map<number, IdleWatcher>()
  let stopped = false
  let failing = false
  let timer: NodeJS.Timeout | undefined
  let fence: NodeJS.Timeout | undefined
  let turn: Promise<void> = Promise.resolve()

  const letGo = async (ids: number[]): Promise<void> => {
    await Promise.all(ids.map(async id => {
      const w = watchers.get(id)
      watchers.delete(id)
      await w?.stop()
    }))
  }
  const hold = (m: PushMailbox): void => {
    watchers.set(m.id, new IdleWatcher(ctx, m, opts.reIdleMs))
  }
  /** After a renewal sent at `sentAt`: the connections go before the leases can expire, unless renewed again. */
  const armFence = (sentAt: number): void => {
    clearTimeout(fence)
    fence = setTimeout(() => {
      log.warn({ held: watchers.size }, 'IMAP push: leases not renewed in time, letting the IDLE connections go')
      void letGo([...watchers.keys()])
    }, sentAt + (LEASE_SECONDS - FENCE_MARGIN_SECONDS) * 1000 - Date.now())
  }

  async function oneTurn (): Promise<void> {
    const sentAt = Date.now()
    const listed = await renewAndList(ctx.pool, holder, LEASE_SECONDS)
    armFence(sentAt)
    const mine = new Map(listed.filter(m => m.mine).map(m => [m.id, m]))
    // lease lost or dropped, or settings changed (made again below)
    await letGo([...watchers.values()].filter(w => mine.get(w.mailboxId)?.fingerprint !== w.fingerprint).map(w => w.mailboxId))
    for (const m of mine.values()) if (!watchers.has(m.id)) hold(m)
    // in random order, so that processes looking at once share the free ones
    const free = shuffled(listed.filter(m => !m.mine && !m.taken))
    const wanted = chooseToAcquire(free, [...watchers.values()].map(w => w.host), caps)
    if (wanted.length === 0) return
    const taken = new Set(await acquireLeases(ctx.pool, holder, wanted, LEASE_SECONDS))
    const names = free.filter(m => taken.has(m.id)).map(m => { hold(m); return m.name })
    if (names.length > 0) log.info({ mailboxes: names, held: watchers.size }, 'IMAP push: leases taken')
  }

  const loop = async (): Promise<void> => {
    turn = oneTurn().then(() => {
      if (failing) log.info('IMAP push: leases renewed again')
      failing = false
    }, (err: unknown) => {
      // logged once per outage; the fence lets the connections go in time
      if (!failing) log.warn({ err: bareError(err) }, 'IMAP push: leases could not be renewed')
      failing = true
    })
    await turn
    if (!stopped) timer = setTimeout(() => { void loop() }, RENEW_SECONDS * 1000)
  }
  void loop()

  return async () => {
    stopped = true
    clearTimeout(timer)
    await turn
    clearTimeout(fence)
    await letGo([...watchers.keys()])
    // the others take them at their next turn rather than after the expiry
    await releaseLeases(ctx.pool, holder).catch(() => {})
  }
}

function shuffled<T> (items: T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]]
  }
  return out
}
