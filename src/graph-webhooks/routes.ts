/**
 * Microsoft Graph webhooks (public scope: rate limited per client address).
 * Both routes only authenticate (clientState), persist and enqueue; syncing
 * happens in jobs.
 *
 * POST /graph/notifications and POST /graph/lifecycle
 * - ?validationToken=… (subscription handshake, empty text/plain body)
 *     → 200 text/plain: the URL-decoded token, nothing else
 * - {"value":[item…]}
 *     → 202 once every accepted item is committed: for notifications a row
 *       each and a deduplicated mailbox-sync per mailbox; for lifecycle
 *       events their reaction's job. Items of an unknown subscription or with
 *       a wrong clientState are dropped and counted
 *       (mailslot_graph_notifications_total{result}); still 202, so a forger
 *       learns nothing and Graph does not retry
 * - 400 invalid_<field>: not a {"value": [objects]} body (at most 1000 items)
 * - 413 payload_too_large: body over 1 MB
 * - 415 unsupported_media_type: neither JSON nor text/plain
 * - 429 rate_limited: over the public rate limit (MAILSLOT_PUBLIC_RATE_LIMIT)
 * - 503 unavailable: the notifications could not be persisted (Graph retries
 *   for up to 4 hours); the only 5xx these routes give on purpose
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AppContext } from '../context.ts'
import { AppError, errorResponseSchema } from '../shared/errors.ts'
import { KnownSubscriptions, type NotificationItem } from './known-subscriptions.ts'
import { acceptLifecycle } from './lifecycle.ts'
import { NotificationWriter } from './notification-writer.ts'

const BODY_LIMIT = 1024 * 1024
/** Graph sends at most 100 items per POST; anything far beyond is not Graph. */
const MAX_ITEMS = 1000

const schema = {
  querystring: { type: 'object', properties: { validationToken: { type: 'string', maxLength: 4096 } } },
  body: { type: 'object', required: ['value'], properties: { value: { type: 'array', maxItems: MAX_ITEMS, items: { type: 'object' } } } },
  response: { '4xx': errorResponseSchema, '5xx': errorResponseSchema }
}

type WebhookRequest = FastifyRequest<{ Querystring: { validationToken?: string }, Body: { value: NotificationItem[] } }>

/** The handshake is answered before the body is validated (it has none). */
async function handshake (req: WebhookRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const token = req.query.validationToken
  if (typeof token !== 'string') return undefined
  // already URL-decoded by the query parser ('+' → ' ', %3A → ':')
  return await reply.status(200).type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(token)
}

async function persisted (work: Promise<void>): Promise<void> {
  try {
    await work
  } catch {
    throw new AppError('unavailable', 'the notifications could not be persisted; retry later')
  }
}

export async function graphRoutes (app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts
  const known = new KnownSubscriptions(ctx.pool, ctx.keyring, ctx.log)
  const writer = new NotificationWriter(ctx, known)
  const options = { bodyLimit: BODY_LIMIT, schema, preValidation: handshake }
  // these routes log nothing per request: no per-request child logger (its
  // redaction is a sizeable share of a notification's CPU time); ctx.log logs flushes
  app.setChildLoggerFactory((logger) => logger)

  app.post('/graph/notifications', options, async (req: WebhookRequest, reply) => {
    await persisted(writer.accept(req.body.value))
    return await reply.status(202).send()
  })

  app.post('/graph/lifecycle', options, async (req: WebhookRequest, reply) => {
    await persisted(acceptLifecycle(ctx, known, req.body.value))
    return await reply.status(202).send()
  })
}
