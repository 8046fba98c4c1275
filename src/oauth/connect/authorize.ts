/**
 * The customer chose an app on a link's page: one authorization request is
 * started (a state bound to the link and the app; a PKCE code verifier and a
 * nonce sealed beside it) and the browser is sent to the provider.
 */
import * as oidc from 'openid-client'
import type { AppContext } from '../../context.ts'
import { AppError } from '../../shared/errors.ts'
import { getApp } from '../apps/repository.ts'
import { buildAuthorizationUrl } from '../client.ts'
import type { ConnectLink } from './links.ts'
import { createState } from './states.ts'

/** Every app's one redirect URI. */
export function callbackUri (publicUrl: string): string {
  return `${publicUrl}/oauth/callback`
}

/** The provider's authorization URL for this link and app (the link is open; the caller checked). */
export async function authorizationUrl (ctx: Pick<AppContext, 'pool' | 'keyring' | 'settings'>, link: ConnectLink, appName: string): Promise<string> {
  const publicUrl = ctx.settings.publicUrl
  if (publicUrl === undefined) throw new AppError('public_url_required')
  const app = link.apps.includes(appName) ? await getApp(ctx.pool, ctx.keyring, appName) : null
  if (app === null) throw new AppError('not_found', 'This way of connecting is not offered by this link.')
  const codeVerifier = oidc.randomPKCECodeVerifier()
  const nonce = oidc.randomNonce()
  const state = await createState(ctx.pool, ctx.keyring, { linkId: link.id, appName, codeVerifier, nonce })
  const url = await buildAuthorizationUrl(app, {
    redirectUri: callbackUri(publicUrl), state, codeVerifier, nonce, ...(link.loginHint !== null ? { loginHint: link.loginHint } : {})
  })
  return url.toString()
}
