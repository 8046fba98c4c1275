/**
 * Probes and metrics.
 * - GET /healthz: 200 {"status":"ok"} while the process runs.
 * - GET /readyz: 200 when the database and the queue answer, else 503.
 * - GET /metrics: Prometheus text format.
 */
import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../../context.ts'
import { errorMessage } from '../../shared/errors.ts'

const statusSchema = { type: 'object', properties: { status: { type: 'string' }, checks: { type: 'object', additionalProperties: { type: 'string' } } } }

async function check (fn: () => Promise<unknown>, timeoutMs = 2000): Promise<string> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([fn(), new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error('timed out')), timeoutMs) })])
    return 'ok'
  } catch (err) {
    return errorMessage(err) || 'failed'
  } finally {
    clearTimeout(timer)
  }
}

export async function healthRoutes (app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts
  app.get('/healthz', { schema: { response: { 200: statusSchema } } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { response: { 200: statusSchema, 503: statusSchema } } }, async (_req, reply) => {
    const [database, queue] = await Promise.all([
      check(async () => await ctx.pool.query('SELECT 1')),
      check(async () => await ctx.boss.getQueue('email-handle'))
    ])
    const ok = database === 'ok' && queue === 'ok'
    return await reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: { database, queue } })
  })

  app.get('/metrics', { schema: { response: { 200: { type: 'string' } } } }, async (_req, reply) => {
    const body = await ctx.metrics.registry.metrics()
    return await reply.type(ctx.metrics.registry.contentType).send(body)
  })
}
