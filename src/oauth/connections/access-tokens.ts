/**
 * The token lifecycle of a connected mailbox: an access token is handed out
 * only while it is good for a while yet (REFRESH_AHEAD before expiry, or half
 * its lifetime when that is shorter); then it is refreshed. A refresh holds
 * the connection's row lock (SELECT … FOR UPDATE) across the request to the
 * provider, and whoever gets the lock next reads the row again: two workers
 * or processes never both refresh, and the second one uses the token the
 * first one got. The answer's refresh token is stored in the same
 * transaction, so a rotated one is never sent again. `invalid_grant` makes
 * the connection and the mailbox `reauth_required`; from then on nothing is
 * asked of the provider until a reconnect.
 */
import { transaction } from '../../db/pool.ts'
import type { AppContext } from '../../context.ts'
import type { Keyring } from '../../shared/crypto.ts'
import { ProviderAuthError, ReauthRequiredError, type AccessTokens } from '../../providers/types.ts'
import { getAppById } from '../apps/repository.ts'
import { InvalidClientError, InvalidGrantError, refreshTokens } from '../client.ts'
import { markReauthRequired, openTokens, readConnection, saveRefreshed, type ConnectionRow } from './repository.ts'

/** Refresh this long before expiry at most. */
const REFRESH_AHEAD_MS = 5 * 60_000

interface Usable { token: string, usableUntil: number }
type Outcome = (Usable & { refreshed: boolean }) | { gone: string }

/** Until when the row's access token may be handed out. */
function usableUntil (row: Pick<ConnectionRow, 'access_expires_at' | 'connected_at' | 'refreshed_at'>): number {
  const expires = row.access_expires_at.getTime()
  const lifetime = expires - (row.refreshed_at ?? row.connected_at).getTime()
  return expires - Math.min(REFRESH_AHEAD_MS, lifetime / 2)
}

const reconnect = (account: string, why: string): string =>
  `the OAuth grant of ${account} is no longer valid (${why}): reconnect the mailbox through a new connect link`

/** Why a mailbox has no usable grant: as recorded when it was found gone. */
const goneMessage = (row: ConnectionRow | undefined): string => row === undefined
  ? 'the mailbox has no OAuth connection: connect it through a connect link'
  : row.last_error ?? reconnect(row.account, 'revoked')

/** The row's token when usable and not the one refused; else undefined. */
function usable (keyring: Keyring, row: ConnectionRow, rejected: string | undefined): Usable | undefined {
  const until = usableUntil(row)
  if (Date.now() >= until) return undefined
  const token = openTokens(keyring, row.tokens).accessToken
  return token === rejected ? undefined : { token, usableUntil: until }
}

/** What the token lifecycle needs: the database, the keys, and the queue of operator events. */
export type TokensContext = Pick<AppContext, 'pool' | 'keyring' | 'settings' | 'boss'>

async function refreshLocked (ctx: TokensContext, mailboxId: number, rejected: string | undefined): Promise<Outcome> {
  const { keyring } = ctx
  return await transaction(ctx.pool, async (client) => {
    const row = await readConnection(client, mailboxId, true)
    if (row?.state !== 'connected') return { gone: goneMessage(row) }
    // refreshed by another worker while this one waited for the lock
    const ready = usable(keyring, row, rejected)
    if (ready !== undefined) return { ...ready, refreshed: false }
    const app = await getAppById(client, keyring, row.app_id)
    if (app === null) return { gone: goneMessage(undefined) }
    try {
      const tokens = await refreshTokens(app, openTokens(keyring, row.tokens).refreshToken)
      await saveRefreshed(client, keyring, row.id, tokens)
      const until = usableUntil({ access_expires_at: tokens.expiresAt, connected_at: new Date(), refreshed_at: null })
      return { token: tokens.accessToken, usableUntil: until, refreshed: true }
    } catch (err) {
      if (err instanceof InvalidClientError) throw new ProviderAuthError(`the OAuth app refused its own credentials: ${err.message}`)
      if (!(err instanceof InvalidGrantError)) throw err
      const message = reconnect(row.account, err.message)
      await markReauthRequired(ctx, client, mailboxId, message)
      return { gone: message }
    }
  })
}

/**
 * The access tokens of one connected mailbox, for one provider session: the
 * token handed out last is kept in memory while usable, so a session's
 * requests do not each read the database; its requests in flight ask one at
 * a time, so they wait for one refresh rather than each hold a connection
 * waiting for the row lock.
 */
export function connectionTokens (ctx: TokensContext, mailboxId: number): AccessTokens {
  let kept: Usable | undefined
  let last: Promise<unknown> = Promise.resolve()

  async function current (rejected: string | undefined): Promise<{ token: string, refreshed: boolean }> {
    if (kept !== undefined && kept.token !== rejected && Date.now() < kept.usableUntil) return { token: kept.token, refreshed: false }
    kept = undefined
    const row = await readConnection(ctx.pool, mailboxId)
    if (row?.state !== 'connected') throw new ReauthRequiredError(goneMessage(row))
    const ready = usable(ctx.keyring, row, rejected)
    const outcome: Outcome = ready !== undefined
      ? { ...ready, refreshed: false }
      : await refreshLocked(ctx, mailboxId, rejected)
    if ('gone' in outcome) throw new ReauthRequiredError(outcome.gone)
    kept = { token: outcome.token, usableUntil: outcome.usableUntil }
    return { token: outcome.token, refreshed: outcome.refreshed }
  }

  return {
    async current (rejected) {
      const next = last.then(async () => await current(rejected))
      last = next.catch(() => {})
      return await next
    },
    async refused (why) {
      const message = `a token just refreshed was refused (${why}): reconnect the mailbox through a new connect link`
      await transaction(ctx.pool, async (client) => { await markReauthRequired(ctx, client, mailboxId, message) })
      throw new ReauthRequiredError(message)
    }
  }
}
