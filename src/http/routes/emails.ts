/**
 * /api/v1/emails
 * - GET  /?mailbox=&status=&limit=&before=  200 {items} (newest first) | 400 invalid_<param>
 * - GET  /:id          200 the email | 404
 * - GET  /:id/raw      200 message/rfc822, the original bytes | 404 (unknown or purged)
 * - POST /:id/replay   202 | 404 | 409 not_replayable
 * - POST /replay       {status: failed|rejected, mailbox?, since?} 202 {queued: n} | 400 invalid_<field>
 *                      (extension: every replayable email matching, in batches)
 */
import type { FastifyInstance } from 'fastify'
import { getEmail, getRaw, listEmails } from '../../inbound/repository.ts'
import { STATUSES } from '../../inbound/lifecycle.ts'
import { bulkReplayFilter, replayEmail, replayMatching, type BulkReplayInput } from '../../inbound/replay.ts'
import type { AppContext } from '../../context.ts'
import { errorResponseSchema } from '../../shared/errors.ts'
import { strictValidatorCompiler } from '../../shared/strict-ajv.ts'

const emailSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' }, mailbox: { type: 'string' }, messageId: { type: 'string' }, status: { type: 'string' },
    reason: { type: ['string', 'null'] }, receivedAt: { type: 'string' }, handledAt: { type: ['string', 'null'] },
    handler: { type: ['string', 'null'] }, result: {}, subject: { type: ['string', 'null'] }, from: { type: ['string', 'null'] },
    size: { type: 'integer' }, attempts: { type: 'integer' }, lastError: { type: ['string', 'null'] }
  }
}
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } }

export async function emailRoutes (app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts
  app.get<{ Querystring: { mailbox?: string, status?: string, limit?: number, before?: number } }>('/emails', {
    schema: {
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          mailbox: { type: 'string', maxLength: 63 },
          status: { enum: [...STATUSES] },
          limit: { type: 'integer', minimum: 1, maximum: 1000 },
          before: { type: 'integer', minimum: 1 }
        }
      },
      response: { 200: { type: 'object', properties: { items: { type: 'array', items: emailSchema } } }, '4xx': errorResponseSchema }
    }
  }, async (req) => ({ items: await listEmails(ctx.pool, { ...req.query, beforeId: req.query.before }) }))

  app.get<{ Params: { id: number } }>('/emails/:id', {
    schema: { params: idParams, response: { 200: emailSchema, '4xx': errorResponseSchema } }
  }, async (req) => await getEmail(ctx.pool, req.params.id))

  app.get<{ Params: { id: number } }>('/emails/:id/raw', { schema: { params: idParams } }, async (req, reply) => {
    const raw = await getRaw(ctx.pool, req.params.id)
    return await reply.type('message/rfc822').header('content-disposition', `attachment; filename="email-${req.params.id}.eml"`).send(raw)
  })

  app.post<{ Params: { id: number } }>('/emails/:id/replay', {
    schema: { params: idParams, response: { 202: { type: 'object', properties: { queued: { type: 'boolean' } } }, '4xx': errorResponseSchema } }
  }, async (req, reply) => {
    await replayEmail(ctx, req.params.id)
    return await reply.status(202).send({ queued: true })
  })

  app.post<{ Body: BulkReplayInput }>('/emails/replay', {
    schema: {
      body: {
        type: 'object',
        required: ['status'],
        additionalProperties: false,
        properties: { status: { type: 'string' }, mailbox: { type: 'string', maxLength: 63 }, since: { type: 'string', maxLength: 64 } }
      },
      response: { 202: { type: 'object', properties: { queued: { type: 'integer' } } }, '4xx': errorResponseSchema }
    },
    validatorCompiler: strictValidatorCompiler
  }, async (req, reply) => {
    const queued = await replayMatching(ctx, bulkReplayFilter(req.body))
    return await reply.status(202).send({ queued })
  })
}
