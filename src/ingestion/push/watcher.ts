/**
 * One mailbox's IDLE connection (imap.push), held while this process holds
 * its lease (supervisor.ts). The folder is opened read-only (EXAMINE), so the
 * connection changes nothing on the server, not even \Recent. Each new-mail
 * announcement (EXISTS) queues a sync of the mailbox, as a manual poll does;
 * a burst of them queues at most two. IDLE is issued again every
 * RE_IDLE_MS, well before servers drop it (RFC 2177: within 29 minutes;
 * Microsoft closes idle connections at about 30). A failed or dropped
 * connection is made again after a growing wait. The mailbox's health is
 * its polls' to decide: here failures are logged and counted only.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { ImapFlow } from 'imapflow'
import type { AppContext } from '../../context.ts'
import { loadMailbox } from '../../mailboxes/repository.ts'
import { loginImap } from '../../providers/imap/connect.ts'
import { connectionTokens } from '../../oauth/connections/access-tokens.ts'
import { ProviderAuthError } from '../../providers/types.ts'
import { bareError, errorMessage } from '../../shared/errors.ts'
import type { Logger } from '../../shared/logger.ts'
import { requestSync } from '../request-sync.ts'
import { coalesced } from './coalesce.ts'

/** How often IDLE is ended and issued again on a quiet connection. */
export const RE_IDLE_MS = 5 * 60_000
/** A connection that stayed up this long starts the wait before the next one over. */
const STEADY_MS = 60_000
/** Longest a logout may take when the connection is let go. */
const LOGOUT_MS = 2_000

export type WatcherContext = Pick<AppContext, 'pool' | 'keyring' | 'boss' | 'metrics' | 'settings'> & { log: Logger }

/**
 * Milliseconds before connecting again after `failures` failures in a row:
 * 1 s doubling to 2 minutes; a refused login 1 minute doubling to 30 (a
 * wrong password must not lock the account; its polls mark it auth_failed,
 * and then no process holds it).
 */
export function reconnectDelayMs (failures: number, authFailed: boolean): number {
  const exp = Math.min(Math.max(failures - 1, 0), 16)
  return authFailed ? Math.min(60_000 * 2 ** exp, 30 * 60_000) : Math.min(1_000 * 2 ** exp, 120_000)
}

export class IdleWatcher {
  readonly mailboxId: number
  readonly host: string
  readonly fingerprint: string
  private readonly ctx: WatcherContext
  private readonly reIdleMs: number
  private readonly stopping = new AbortController()
  private client: ImapFlow | undefined
  private readonly done: Promise<void>

  constructor (ctx: WatcherContext, mailbox: { id: number, name: string, host: string, fingerprint: string }, reIdleMs = RE_IDLE_MS) {
    this.mailboxId = mailbox.id
    this.host = mailbox.host
    this.fingerprint = mailbox.fingerprint
    this.ctx = { ...ctx, log: ctx.log.child({ mailbox: mailbox.name }) }
    this.reIdleMs = reIdleMs
    this.done = this.run()
  }

  /** Logs out (or drops the connection) and waits for the watcher to end. */
  async stop (): Promise<void> {
    this.stopping.abort()
    const client = this.client
    if (client !== undefined) {
      await Promise.race([client.logout().catch(() => {}), sleep(LOGOUT_MS)])
      client.close()
    }
    await this.done
  }

  private async run (): Promise<void> {
    const { log, metrics } = this.ctx
    const sync = coalesced(async () => { await requestSync(this.ctx, this.mailboxId, 'push') }, err => {
      log.warn({ err: bareError(err) }, 'IMAP push: could not queue a sync')
    })
    let failures = 0
    while (!this.stopping.signal.aborted) {
      let openedAt: number | undefined
      try {
        const client = await this.open()
        openedAt = Date.now()
        metrics.imapIdleConnections.inc()
        log.info('IMAP push: IDLE connection open')
        client.on('exists', (e: { count: number, prevCount: number }) => { if (e.count > e.prevCount) sync() })
        // mail that came while no connection was open
        sync()
        const reason = await this.idleUntilClosed(client)
        if (this.stopping.signal.aborted) break
        throw new Error(reason)
      } catch (err) {
        if (this.stopping.signal.aborted) break
        failures = openedAt !== undefined && Date.now() - openedAt >= STEADY_MS ? 1 : failures + 1
        metrics.imapIdleFailures.inc()
        const waitMs = reconnectDelayMs(failures, err instanceof ProviderAuthError)
        log.warn({ err: bareError(err), retryInSeconds: Math.round(waitMs / 1000) }, 'IMAP push: IDLE connection failed')
        await sleep(waitMs, undefined, { signal: this.stopping.signal }).catch(() => {})
      } finally {
        if (openedAt !== undefined) metrics.imapIdleConnections.dec()
        this.client?.close()
        this.client = undefined
      }
    }
    log.info('IMAP push: IDLE connection closed')
  }

  /** A new connection, logged in with the mailbox's current credentials, its folder open read-only. */
  private async open (): Promise<ImapFlow> {
    const mailbox = await loadMailbox(this.ctx.pool, this.ctx.keyring, this.mailboxId)
    if (mailbox?.spec.imap === undefined) throw new Error('the mailbox is gone')
    const client = await loginImap(mailbox.spec.imap, connectionTokens(this.ctx, this.mailboxId))
    this.client = client
    if (this.stopping.signal.aborted) throw new Error('stopped')
    const folder = mailbox.spec.imap.folder ?? 'INBOX'
    try {
      await client.mailboxOpen(folder, { readOnly: true })
    } catch (err) {
      throw new Error(`IMAP folder "${folder}" cannot be opened: ${(err as { responseText?: string }).responseText ?? errorMessage(err)}`)
    }
    return client
  }

  /**
   * IDLE, issued again every reIdleMs (a NOOP ends it), until the connection
   * closes or stops idling; resolves to why.
   */
  private async idleUntilClosed (client: ImapFlow): Promise<string> {
    let lastError: unknown
    client.on('error', (err: unknown) => { lastError = err })
    const reIdle = setInterval(() => { client.noop().catch(() => {}) }, this.reIdleMs)
    try {
      // idle() returns when a command ends IDLE, false when IDLE failed or was refused
      while (client.usable && client.mailbox !== false && !this.stopping.signal.aborted) {
        if (await client.idle() === false) break
      }
    } finally {
      clearInterval(reIdle)
    }
    if (client.usable) return client.mailbox === false ? 'the folder was closed' : 'IDLE failed or was refused'
    return lastError === undefined ? 'the server closed the connection' : `the connection failed: ${errorMessage(lastError)}`
  }
}
