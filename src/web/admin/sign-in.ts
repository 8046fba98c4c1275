/**
 * Signing in to the admin pages with the admin token.
 * - GET  /admin           200 the sign-in page | 303 /admin/mailboxes when signed in
 * - POST /admin           303 /admin/mailboxes with a session cookie | 401 the page again, with the error | 403 bad CSRF token
 *                         | 429 after 30 failed attempts a minute from one client (as the API)
 * - POST /admin/sign-out  303 /admin, the cookie deleted
 */
import type { FastifyInstance } from 'fastify'
import { FAILED_AUTH_PER_MINUTE, tokenMatches } from '../../http/auth.ts'
import { AppError } from '../../shared/errors.ts'
import type { AppContext } from '../../context.ts'
import { renderPage } from '../render.ts'
import { clearSessionCookie, setSessionCookie, type SessionKeys } from '../session.ts'

interface SignInBody { token?: string }

export async function signInPages (app: FastifyInstance, opts: { ctx: AppContext, session: SessionKeys }): Promise<void> {
  const { ctx, session } = opts
  const rightToken = (body: SignInBody | undefined): boolean => typeof body?.token === 'string' && tokenMatches(body.token, ctx.adminToken)

  app.get('/admin', async (req, reply) => {
    if (req.signedIn) return await reply.redirect('/admin/mailboxes', 303)
    return await renderPage(reply, 'sign-in', { title: 'Sign in' })
  })

  app.post<{ Body: SignInBody }>('/admin', {
    // instead of the pages' limit: its own, after the body is parsed, so that (as on the API) a right token is never counted or refused
    config: { rateLimit: false },
    preHandler: app.rateLimit({
      max: FAILED_AUTH_PER_MINUTE,
      timeWindow: 60_000,
      allowList: (req) => rightToken(req.body as SignInBody),
      errorResponseBuilder: (_req, rl) => new AppError('rate_limited', `Too many failed sign-ins: try again in ${rl.after}.`)
    })
  }, async (req, reply) => {
    if (!rightToken(req.body)) {
      req.log.warn('admin sign-in refused: wrong token')
      return await renderPage(reply, 'sign-in', { title: 'Sign in', notice: { kind: 'error', text: 'That is not the admin token. Check it and try again.' } }, 401)
    }
    setSessionCookie(reply, session)
    return await reply.redirect('/admin/mailboxes', 303)
  })

  app.post('/admin/sign-out', async (_req, reply) => {
    clearSessionCookie(reply, session)
    return await reply.redirect('/admin', 303)
  })
}
