/**
 * Logging in with a connected mailbox's access token (IMAP XOAUTH2, a Graph
 * request): a refused token is tried once more with a newer one (another
 * process may have refreshed meanwhile, or it was revoked early); refused
 * with a token just refreshed, the grant counts as gone.
 */
import { errorMessage } from '../shared/errors.ts'
import type { AccessTokens } from './types.ts'

export async function withAccessToken<T> (
  tokens: AccessTokens, attempt: (token: string) => Promise<T>, isRefusal: (err: unknown) => boolean, describe = errorMessage
): Promise<T> {
  let grant = await tokens.current()
  // a token newer than one refused counts as just refreshed, whoever refreshed it
  let fresh = grant.refreshed
  for (;;) {
    try {
      return await attempt(grant.token)
    } catch (err) {
      if (!isRefusal(err)) throw err
      if (fresh) return await tokens.refused(describe(err))
      grant = await tokens.current(grant.token)
      fresh = true
    }
  }
}
