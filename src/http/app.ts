/**
 * The application as a Fastify plugin tree; src/http/server.ts only starts it.
 * Public routes (probes, Graph webhooks) are rate limited per client;
 * /api/v1 needs the admin bearer token.
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

export interface AppOptions {
  /** Requests per minute per client on public routes; 0 = no limit. Default MAILSLOT_PUBLIC_RATE_LIMIT. */
  publicRateLimit?: number
}

export async function buildApp (ctx: AppContext, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
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
  }, { prefix: '/api/v1' })

  return app
}
