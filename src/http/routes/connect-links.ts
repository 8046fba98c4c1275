/**
 * /api/v1/connect-links
 * - POST / {"mailbox", "apps", "expiresInMinutes"?}
 *     201 {id, url, expiresAt}: url = <MAILSLOT_PUBLIC_URL>/connect/<token>, shown this once
 *   | 400 invalid_<field> (invalid_apps: an unknown app; invalid_mailbox: no mailbox of that name;
 *     invalid_mailbox.<field>: the new mailbox's JSON; invalid_expiresInMinutes: outside 1 … 10080)
 *   | 409 mailbox_exists (a new mailbox's name is taken) | 409 public_url_required
 */
import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../../context.ts'
import { strictValidatorCompiler } from '../../shared/strict-ajv.ts'
import { errorResponseSchema } from '../../shared/errors.ts'
import { createConnectLink, MAX_EXPIRY_MINUTES, type ConnectLinkRequest } from '../../oauth/connect/create-link.ts'

const bodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['mailbox', 'apps'],
  properties: {
    // a name here; the JSON of a new mailbox is checked by its own schema (link-mailbox.ts)
    mailbox: { type: ['string', 'object'], minLength: 1, maxLength: 63 },
    apps: { type: 'array', minItems: 1, maxItems: 20, items: { type: 'string', minLength: 1, maxLength: 100 } },
    expiresInMinutes: { type: 'integer', minimum: 1, maximum: MAX_EXPIRY_MINUTES }
  }
}

const createdSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, url: { type: 'string' }, expiresAt: { type: 'string' } }
}

export async function connectLinkRoutes (app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts
  app.post<{ Body: ConnectLinkRequest }>('/connect-links', {
    schema: { body: bodySchema, response: { 201: createdSchema, '4xx': errorResponseSchema } },
    validatorCompiler: strictValidatorCompiler
  }, async (req, reply) => {
    const created = await createConnectLink(ctx, req.body)
    req.log.info({ link: created.id, mailbox: typeof req.body.mailbox === 'string' ? req.body.mailbox : req.body.mailbox.name }, 'connect link created')
    return await reply.status(201).send(created)
  })
}
