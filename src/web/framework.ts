/**
 * What every page shares, registered once on the pages' scope (nothing here
 * reaches /api/v1 or the Graph routes): forms (@fastify/formbody), cookies,
 * CSRF on every POST (@fastify/csrf-protection: a form without a valid
 * `_csrf` field answers a 403 page), security headers with a strict CSP
 * (@fastify/helmet, src/web/csp.ts), templates (@fastify/view + eta, which
 * escapes every `<%= %>`), our stylesheet, the admin session check, rate
 * limits and error pages.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { FastifyError, FastifyInstance } from 'fastify'
import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import formbody from '@fastify/formbody'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import view from '@fastify/view'
import { Eta } from 'eta'
import type { AppContext } from '../context.ts'
import { AppError } from '../shared/errors.ts'
import { helmetOptions } from './csp.ts'
import { helpers } from './format.ts'
import { renderPage } from './render.ts'
import { hasSession, sessionKeys, type SessionKeys } from './session.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The request carries a valid admin session cookie (src/web/session.ts). */
    signedIn: boolean
  }
}

const VIEWS = path.join(import.meta.dirname, 'views')
const ASSETS = path.join(import.meta.dirname, 'assets')
const STYLESHEET = readFileSync(path.join(ASSETS, 'style.css'))
const ICON = readFileSync(path.join(ASSETS, 'icon.svg'))

export interface FrameworkOptions {
  ctx: AppContext
  /** Requests per minute per client address on the pages; 0 = no limit. */
  publicRateLimit: number
}

/** Registers the shared parts on `app` (a scope of its own); returns the session keys for sign-in. */
export async function registerPageFramework (app: FastifyInstance, opts: FrameworkOptions): Promise<SessionKeys> {
  const { ctx } = opts
  const keys = sessionKeys(ctx.keyring, ctx.adminToken, ctx.settings.publicUrl)

  await app.register(rateLimit, {
    global: opts.publicRateLimit > 0,
    max: opts.publicRateLimit,
    timeWindow: 60_000,
    errorResponseBuilder: (_req, rl) => new AppError('rate_limited', `Too many requests: try again in ${rl.after}.`)
  })
  await app.register(formbody)
  await app.register(cookie)
  await app.register(csrf, {
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict', secure: keys.secure },
    // from the form only: no header a script could set, nothing in the URL
    getToken: (req) => (req.body as { _csrf?: string } | undefined)?._csrf
  })
  // the token travels in the body: checked once it is parsed
  app.addHook('preValidation', (req, reply, done) => {
    if (req.method === 'POST') app.csrfProtection(req, reply, done)
    else done()
  })
  await app.register(helmet, helmetOptions(keys.secure))
  await app.register(view, {
    engine: { eta: new Eta({ autoEscape: true }) },
    root: VIEWS,
    layout: 'layout.eta',
    production: true,
    defaultContext: { h: helpers }
  })

  app.decorateRequest('signedIn', false)
  app.addHook('onRequest', async (req) => { req.signedIn = hasSession(req, keys) })

  app.get('/assets/style.css', async (_req, reply) => await reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET))
  app.get('/assets/icon.svg', async (_req, reply) => await reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(ICON))

  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    const page = errorPage(err)
    if (page.status >= 500) req.log.error({ err }, 'page failed')
    return await renderPage(reply, 'error', { title: page.title, message: page.message }, page.status)
  })
  return keys
}

interface ErrorPage { status: number, title: string, message: string }

const TITLES: Record<number, string> = { 400: 'Bad request', 404: 'Not found', 429: 'Too many requests' }

/** What a failure shows: our own errors their message; a parser's or validator's 4xx a plain sentence; anything else a 500. */
function errorPage (err: FastifyError): ErrorPage {
  if (err.code === 'FST_CSRF_MISSING_SECRET' || err.code === 'FST_CSRF_INVALID_TOKEN') {
    return { status: 403, title: 'Form expired', message: 'This form has expired or did not come from this site. Go back, reload the page and try again.' }
  }
  const status = err instanceof AppError ? err.status : err.statusCode ?? 500
  if (status < 400 || status >= 500) {
    return { status: 500, title: 'Something went wrong', message: 'The page could not be shown. The error was logged; try again in a moment.' }
  }
  const message = err instanceof AppError ? err.message : 'The request could not be understood.'
  return { status, title: TITLES[status] ?? 'Cannot do that', message }
}
