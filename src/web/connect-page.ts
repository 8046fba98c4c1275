/**
 * The customer's side of a connect link (src/oauth/connect/).
 * - GET  /connect/:token  200 one button per app | 404 unknown or tampered link | 410 expired or used link
 * - POST /connect/:token  303 to the provider's authorization endpoint (form field `app`) | 404 | 410 | 403 bad CSRF token
 * - GET  /oauth/callback  200 connected | 400 unknown, forged or used state | 403 the customer declined
 *                         | 409 mailbox name taken meanwhile, or another account | 410 link used or expired meanwhile
 *                         | 502 the provider refused
 * Pages never show the link's token (the form posts to the page's own URL).
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AppContext } from '../context.ts'
import { authorizationUrl } from '../oauth/connect/authorize.ts'
import { finishConnect, type CallbackOutcome, type CallbackQuery } from '../oauth/connect/callback.ts'
import { linkByToken, type ConnectLink } from '../oauth/connect/links.ts'
import { offeredApps } from '../oauth/connect/offered-apps.ts'
import { AppError, bareError } from '../shared/errors.ts'
import { helmetOptions } from './csp.ts'
import { renderPage } from './render.ts'
import { exact } from './format.ts'

interface Message { status: number, title: string, lines: string[], tone: 'ok' | 'error' }

const askAgain = 'Ask whoever sent it to you for a new link.'

/** The page of a link that cannot be used (null: none has that token); null for an open one. */
function closedLinkPage (link: ConnectLink | null): Message | null {
  if (link === null) {
    return { status: 404, tone: 'error', title: 'This link is not valid', lines: ['It may have been copied only in part, or changed.', `Check the link, or ${askAgain.toLowerCase()}`] }
  }
  switch (link.state) {
    case 'open': return null
    case 'expired': return { status: 410, tone: 'error', title: 'This link has expired', lines: [`It could be used until ${exact(link.expiresAt.toISOString())}.`, askAgain] }
    case 'used': return { status: 410, tone: 'error', title: 'This link has already been used', lines: ['A link connects a mailbox once, and this one did.', `To connect again, ${askAgain.toLowerCase()}`] }
  }
}

const until = (d: Date): string => `Your link still works until ${exact(d.toISOString())}: open it again to try once more.`

function unreachable (link: ConnectLink): Message {
  return { status: 502, tone: 'error', title: 'The sign-in page cannot be reached', lines: ['The provider did not answer. Try again in a few minutes.', until(link.expiresAt)] }
}

function callbackPage (o: CallbackOutcome): Message {
  switch (o.kind) {
    case 'connected':
      return { status: 200, tone: 'ok', title: 'Your mailbox is connected', lines: [`${o.account} is connected. New mail to it is picked up from now on.`, 'You can close this page.'] }
    case 'bad_state':
      return {
        status: 400,
        tone: 'error',
        title: 'This sign-in cannot be completed',
        lines: [o.why === 'expired' ? 'The sign-in took too long.' : 'This answer from the sign-in page was already used, or was not started here.',
          'Nothing was connected. Open the link you were given again to start over.']
      }
    case 'link_closed':
      return closedLinkPage(o.link) as Message
    case 'declined':
      return { status: 403, tone: 'error', title: 'Access was not allowed', lines: ['The sign-in page says access to the mailbox was declined, so nothing was connected.', until(o.expiresAt)] }
    case 'provider_error':
      return { status: 502, tone: 'error', title: 'The provider did not complete the sign-in', lines: [`${o.why} Nothing was connected.`, until(o.expiresAt)] }
    case 'mailbox_exists':
      return { status: 409, tone: 'error', title: 'This mailbox exists already', lines: [`A mailbox named “${o.mailbox}” was set up meanwhile, so nothing was changed.`, askAgain] }
    case 'wrong_account':
      return {
        status: 409,
        tone: 'error',
        title: 'Another account signed in',
        lines: [`This link reconnects ${o.expected}, but the sign-in was as ${o.got}. Nothing was changed.`, `Sign in as ${o.expected}. ${until(o.expiresAt)}`]
      }
  }
}

/** One value each (a repeated parameter is a malformed answer: 400). */
const callbackQuerySchema = {
  type: 'object',
  properties: {
    code: { type: 'string', maxLength: 4096 },
    state: { type: 'string', maxLength: 200 },
    error: { type: 'string', maxLength: 200 },
    error_description: { type: 'string', maxLength: 2000 }
  }
}

async function showMessage (reply: FastifyReply, m: Message): Promise<FastifyReply> {
  return await renderPage(reply, 'connect-message', { title: m.title, lines: m.lines, tone: m.tone }, m.status)
}

export async function connectPages (app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts
  const https = ctx.settings.publicUrl?.startsWith('https:') === true

  app.get<{ Params: { token: string } }>('/connect/:token', async (req, reply) => {
    const link = await linkByToken(ctx.pool, req.params.token)
    const closed = closedLinkPage(link)
    if (closed !== null) return await showMessage(reply, closed)
    const open = link as ConnectLink
    const apps = await offeredApps(ctx.pool, open)
    // the buttons' form continues at the providers (a redirect after our POST): form-action must allow them
    const formAction = [...new Set(apps.map(a => a.origin))]
    await reply.helmet(helmetOptions(https, { formAction }))
    return await renderPage(reply, 'connect', {
      title: open.mailboxId === null ? 'Connect your mailbox' : 'Reconnect your mailbox',
      account: open.loginHint,
      apps,
      expiresAt: open.expiresAt.toISOString()
    })
  })

  app.post<{ Params: { token: string }, Body: { app?: string } }>('/connect/:token', async (req, reply) => {
    const link = await linkByToken(ctx.pool, req.params.token)
    const closed = closedLinkPage(link)
    if (closed !== null) return await showMessage(reply, closed)
    if (typeof req.body?.app !== 'string') throw new AppError('invalid_request', 'Choose one of the buttons on the page.')
    let url: string
    try {
      url = await authorizationUrl(ctx, link as ConnectLink, req.body.app)
    } catch (err) {
      if (err instanceof AppError) throw err
      // the provider's discovery did not answer
      req.log.warn({ app: req.body.app, err: bareError(err) }, 'connect: the provider cannot be reached')
      return await showMessage(reply, unreachable(link as ConnectLink))
    }
    return await reply.redirect(url, 303)
  })

  app.get<{ Querystring: CallbackQuery }>('/oauth/callback', { schema: { querystring: callbackQuerySchema } }, async (req, reply) => {
    const callbackUrl = new URL(req.url, ctx.settings.publicUrl ?? `http://${req.host}`)
    return await showMessage(reply, callbackPage(await finishConnect(ctx, req.query, callbackUrl)))
  })
}
