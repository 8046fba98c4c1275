/**
 * The provider sent the customer back: GET /oauth/callback?code&state (or
 * ?error&state). In this order:
 * 1. the state is claimed (once; unknown, used or expired → refused, and no
 *    token request is ever made for it);
 * 2. its link must still be open (else no token request either);
 * 3. a provider error (access_denied: the customer declined) ends here and
 *    leaves the link usable;
 * 4. the code is exchanged (PKCE verifier, nonce) and the account read;
 * 5. one transaction uses the link up, creates or reconnects the mailbox and
 *    saves the connection; of two callbacks racing for one link, one wins;
 * 6. a sync of the mailbox is queued at once.
 */
import type { AppContext } from '../../context.ts'
import { transaction, type PoolClient } from '../../db/pool.ts'
import { wakePollers } from '../../ingestion/request-sync.ts'
import { AppError } from '../../shared/errors.ts'
import { getApp } from '../apps/repository.ts'
import { describeOAuthError, exchangeCode } from '../client.ts'
import { saveConnection } from '../connections/repository.ts'
import type { GrantedAccount, OAuthApp, TokenSet } from '../types.ts'
import { callbackUri } from './authorize.ts'
import { connectMailbox, WrongAccountError, type ConnectedMailbox } from './connect-mailbox.ts'
import { claimLink, linkById, type ConnectLink } from './links.ts'
import { claimState, type StateRefusal } from './states.ts'

export interface CallbackQuery {
  code?: string
  state?: string
  error?: string
  error_description?: string
}

export type CallbackOutcome =
  | { kind: 'connected', mailbox: string, account: string, created: boolean }
  /** Unknown, forged, replayed or stale state: nothing was asked of the provider. */
  | { kind: 'bad_state', why: StateRefusal }
  /** The link was used, expired or deleted (null) meanwhile. */
  | { kind: 'link_closed', link: ConnectLink | null }
  /** The customer declined (access_denied); the link stays usable. */
  | { kind: 'declined', expiresAt: Date }
  /** The provider answered another error, or the code could not be redeemed: `why`, for the customer. */
  | { kind: 'provider_error', why: string, expiresAt: Date }
  /** A new mailbox's name was taken meanwhile. */
  | { kind: 'mailbox_exists', mailbox: string }
  /** A reconnect signed in with another account than the mailbox's. */
  | { kind: 'wrong_account', expected: string, got: string, expiresAt: Date }

type Ctx = Pick<AppContext, 'pool' | 'keyring' | 'settings' | 'boss' | 'log'>
type Granted = { tokens: TokenSet, account: GrantedAccount }

export async function finishConnect (ctx: Ctx, query: CallbackQuery, callbackUrl: URL): Promise<CallbackOutcome> {
  const publicUrl = ctx.settings.publicUrl
  if (publicUrl === undefined) throw new AppError('public_url_required')
  const claimed = typeof query.state === 'string' ? await claimState(ctx.pool, ctx.keyring, query.state) : 'unknown'
  if (typeof claimed === 'string') return { kind: 'bad_state', why: claimed }
  const link = await linkById(ctx.pool, claimed.linkId)
  if (link?.state !== 'open') return { kind: 'link_closed', link }
  if (typeof query.error === 'string') {
    ctx.log.info({ link: link.id, app: claimed.appName, error: query.error }, 'connect: the provider answered an error')
    return query.error === 'access_denied'
      ? { kind: 'declined', expiresAt: link.expiresAt }
      : { kind: 'provider_error', why: `It answered “${query.error}”.`, expiresAt: link.expiresAt }
  }
  const app = await getApp(ctx.pool, ctx.keyring, claimed.appName)
  if (app === null) return { kind: 'provider_error', why: 'This way of connecting was removed meanwhile.', expiresAt: link.expiresAt }

  let granted: Granted
  try {
    granted = await exchangeCode(app, {
      callbackUrl,
      redirectUri: callbackUri(publicUrl),
      expectedState: query.state as string,
      codeVerifier: claimed.codeVerifier,
      nonce: claimed.nonce
    })
  } catch (err) {
    ctx.log.warn({ link: link.id, app: app.name, error: describeOAuthError(err) }, 'connect: the code exchange failed')
    return { kind: 'provider_error', why: 'Its answer could not be turned into access to the mailbox.', expiresAt: link.expiresAt }
  }
  return await connect(ctx, link, app, granted)
}

async function connect (ctx: Ctx, link: ConnectLink, app: OAuthApp, granted: Granted): Promise<CallbackOutcome> {
  const { account } = granted.account
  let connected: ConnectedMailbox | null
  try {
    connected = await transaction(ctx.pool, async (tx: PoolClient) => {
      if (!await claimLink(tx, link.id)) return null
      const mailbox = await connectMailbox(ctx, tx, link, app, account)
      await saveConnection(tx, ctx.keyring, { mailboxId: mailbox.mailboxId, appId: app.id, ...granted })
      return mailbox
    })
  } catch (err) {
    if (err instanceof AppError && err.code === 'mailbox_exists') return { kind: 'mailbox_exists', mailbox: link.mailbox.name }
    if (err instanceof WrongAccountError) return { kind: 'wrong_account', expected: err.expected, got: account, expiresAt: link.expiresAt }
    throw err
  }
  if (connected === null) return { kind: 'link_closed', link: { ...link, state: 'used' } }
  ctx.log.info({ link: link.id, app: app.name, mailbox: connected.name, created: connected.created }, 'connect: mailbox connected')
  await wakePollers(ctx.pool)
  return { kind: 'connected', mailbox: connected.name, account, created: connected.created }
}
