/**
 * /api/v1/mailboxes/:name/status-link
 * - POST {"expiresInDays"?}  201 {"url", "expiresAt"}: a read-only status page of the mailbox for its owner
 *                            | 400 invalid_expiresInDays (1–365, default 30) | 404 | 409 public_url_required
 */
import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../../context.ts'
import { mailboxIdByName } from '../../mailboxes/repository.ts'
import { createStatusLink } from '../../status-links/repository.ts'
import { AppError, errorResponseSchema } from '../../shared/errors.ts'
import { strictValidatorCompiler } from '../../shared/strict-ajv.ts'

export const STATUS_LINK_DEFAULT_DAYS = 30
export const STATUS_LINK_MAX_DAYS = 365

interface Body { expiresInDays?: number }

export async function statusLinkRoutes (app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts
  app.post<{ Params: { name: string }, Body: Body | undefined }>('/mailboxes/:name/status-link', {
    schema: {
      params: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 63 } } },
      body: {
        type: ['object', 'null'],
        additionalProperties: false,
        properties: { expiresInDays: { type: 'integer', minimum: 1, maximum: STATUS_LINK_MAX_DAYS } }
      },
      response: { 201: { type: 'object', properties: { url: { type: 'string' }, expiresAt: { type: 'string' } } }, '4xx': errorResponseSchema }
    },
    validatorCompiler: strictValidatorCompiler
  }, async (req, reply) => {
    const mailboxId = await mailboxIdByName(ctx.pool, req.params.name)
    const base = ctx.settings.publicUrl
    if (base === undefined) throw new AppError('public_url_required', 'a status link needs MAILSLOT_PUBLIC_URL, the base URL its owner opens')
    const link = await createStatusLink(ctx.pool, mailboxId, req.body?.expiresInDays ?? STATUS_LINK_DEFAULT_DAYS)
    req.log.info({ mailbox: req.params.name, expiresAt: link.expiresAt }, 'status link created')
    return await reply.status(201).send({ url: `${base}/status/${link.token}`, expiresAt: link.expiresAt.toISOString() })
  })
}
