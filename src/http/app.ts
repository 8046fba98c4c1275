/**
 * The application as a Fastify plugin tree; src/http/server.ts only starts it.
 * Public routes (probes, Graph webhooks) are rate limited per client;
 * /api/v1 needs the admin bearer token; the web pages (src/web) are a scope
 * of their own with cookies, CSRF and a CSP. Slow clients are cut off: headers
 * must arrive within 10 s and the whole request within 30 s (answered 408),
 * a connection idle for 2 minutes is closed; headers are limited to 16 KB
 * (431) and bodies to 1 MB (413).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import type { AppContext } from '../context.ts'
import { AppError } from '../shared/errors.ts'
import { requireAdminToken } from './auth.ts'
import { registerErrorHandling } from './errors.ts'
import { healthRoutes } from './routes/health.ts'
import { mailboxRoutes } from './routes/mailboxes.ts'
import { emailRoutes } from './routes/emails.ts'
import { graphRoutes } from '../graph-webhooks/routes.ts'
import { projectRoutes } from './routes/projects.ts'
import { oauthAppRoutes } from '../oauth/apps/routes.ts'
import { statusLinkRoutes } from './routes/status-links.ts'
import { webPages } from '../web/index.ts'
import { connectLinkRoutes } from './routes/connect-links.ts'

export interface AppOptions {
  /** Requests per minute per client on public routes; 0 = no limit. Default MAILSLOT_PUBLIC_RATE_LIMIT. */
  publicRateLimit?: number
  /** A request's headers must arrive within this. Default HEADERS_TIMEOUT_MS. */
  headersTimeoutMs?: number
  /** A whole request, body included, must arrive within this. Default REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number
}

/** Far beyond what Graph or an API client needs, short enough that trickling clients cannot pile up. */
export const HEADERS_TIMEOUT_MS = 10_000
export const REQUEST_TIMEOUT_MS = 30_000
/** Above the keep-alive timeout (72 s, longer than load balancers' 60 s idle), so only stalled connections hit it. */
const IDLE_TIMEOUT_MS = 120_000
const MAX_HEADER_BYTES = 16 * 1024
const BODY_LIMIT = 1024 * 1024

export async function buildApp (ctx: AppContext, opts: AppOptions = {}): Promise<FastifyInstance> {
  const headersTimeout = opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    requestTimeout: opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    connectionTimeout: IDLE_TIMEOUT_MS,
    // node checks the timeouts every interval: a fraction of the header timeout keeps the cut-off close to it
    http: { headersTimeout, maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: Math.min(1000, headersTimeout / 4) },
    // per-request log lines would cost more than the webhook itself
    logController: new LogController({ disableRequestLogging: true }),
    // ids in logs for correlation; no header values logged
    requestIdHeader: false
  })
  registerErrorHandling(app)

  await app.register(async (pub) => {
    const max = opts.publicRateLimit ?? ctx.settings.publicRateLimit
    if (max > 0) {
      await pub.register(rateLimit, {
        max,
        timeWindow: 60_000,
        errorResponseBuilder: (_req, rl) => new AppError('rate_limited', `rate limit exceeded; retry in ${rl.after}`)
      })
    }
    await pub.register(healthRoutes, { ctx })
    await pub.register(graphRoutes, { ctx })
  })

  await app.register(async (api) => {
    await requireAdminToken(api, ctx.adminToken)
    await api.register(mailboxRoutes, { ctx })
    await api.register(emailRoutes, { ctx })
    await api.register(projectRoutes, { ctx })
    await api.register(oauthAppRoutes, { ctx })
    await api.register(statusLinkRoutes, { ctx })
    await api.register(connectLinkRoutes, { ctx })
  }, { prefix: '/api/v1' })

  await app.register(webPages, { ctx, publicRateLimit: opts.publicRateLimit ?? ctx.settings.publicRateLimit })

  return app
}
