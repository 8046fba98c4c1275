/**
 * /api/v1/mailboxes
 * - POST   /           201 the mailbox (no secrets) | 400 invalid_<field> (a secret reference too) | 409 mailbox_exists
 * - GET    /           200 {items}
 * - GET    /:name      200 the mailbox with health | 404 not_found
 * - POST   /:name/poll 202 a sync is queued | 404
 * - DELETE /:name      204 | 404
 */
import type { FastifyInstance } from 'fastify'
import { strictValidatorCompiler } from '../../shared/strict-ajv.ts'
import { connectOnlyError, deliveryUrlError, mailboxSchema } from '../../mailboxes/schema.ts'
import { createMailbox, deleteMailbox, getMailboxView, listMailboxes } from '../../mailboxes/repository.ts'
import type { MailboxSpec } from '../../mailboxes/types.ts'
import type { AppContext } from '../../context.ts'
import { requestSync, wakePollers } from '../../ingestion/request-sync.ts'
import { deleteWithSubscription } from '../../graph-webhooks/subscriptions/unsubscribe.ts'
import { errorResponseSchema, fieldError } from '../../shared/errors.ts'
import { mailboxListSchema, mailboxViewSchema } from './mailbox-schemas.ts'
import { firstSecretRef } from '../../mailboxes/secret-refs.ts'

const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 63 } } }

export async function mailboxRoutes (app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts

  app.post<{ Body: MailboxSpec }>('/mailboxes', {
    schema: { body: mailboxSchema, response: { 201: mailboxViewSchema, '4xx': errorResponseSchema } },
    validatorCompiler: strictValidatorCompiler,
    // the server's files and environment are not the API caller's to read: references only from the file and the CLI
    preValidation: async (req) => {
      const ref = firstSecretRef(req.body)
      if (ref !== undefined) throw fieldError(ref, 'must be the value: secret references ({file}, {env}) are read only from MAILSLOT_CONFIG and mailbox add')
    }
  }, async (req, reply) => {
    const refused = connectOnlyError(req.body) ?? deliveryUrlError(req.body, ctx.settings.webhookAllowPrivate)
    if (refused !== undefined) throw fieldError(refused.field, refused.message)
    const view = await createMailbox(ctx, ctx.pool, req.body)
    req.log.info({ mailbox: view.name }, 'mailbox created')
    await wakePollers(ctx.pool)
    return await reply.status(201).send(view)
  })

  app.get('/mailboxes', { schema: { response: { 200: mailboxListSchema } } }, async () => ({ items: await listMailboxes(ctx.pool) }))

  app.get<{ Params: { name: string } }>('/mailboxes/:name', {
    schema: { params: nameParams, response: { 200: mailboxViewSchema, '4xx': errorResponseSchema } }
  }, async (req) => await getMailboxView(ctx.pool, req.params.name))

  app.post<{ Params: { name: string } }>('/mailboxes/:name/poll', {
    schema: { params: nameParams, response: { 202: { type: 'object', properties: { queued: { type: 'boolean' } } }, '4xx': errorResponseSchema } }
  }, async (req, reply) => {
    const view = await getMailboxView(ctx.pool, req.params.name)
    await requestSync(ctx, view.id, 'manual')
    return await reply.status(202).send({ queued: true })
  })

  app.delete<{ Params: { name: string } }>('/mailboxes/:name', {
    schema: { params: nameParams, response: { '4xx': errorResponseSchema } }
  }, async (req, reply) => {
    // a Graph mailbox's subscription is deleted at Graph first
    await deleteWithSubscription(ctx, req.params.name, async () => { await deleteMailbox(ctx.pool, req.params.name) })
    req.log.info({ mailbox: req.params.name }, 'mailbox deleted')
    return await reply.status(204).send()
  })
}
