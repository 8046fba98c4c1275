/**
 * /api/v1/oauth-apps
 * - POST   /      201 the app, defaults filled, no clientSecret | 400 invalid_<field> | 409 oauth_app_exists
 * - GET    /      200 {items}
 * - GET    /:name 200 the app | 404 not_found
 * - DELETE /:name 204 | 404 | 409 oauth_app_in_use (a mailbox is connected through it)
 */
import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../../context.ts'
import { strictValidatorCompiler } from '../../shared/strict-ajv.ts'
import { errorResponseSchema, fieldError } from '../../shared/errors.ts'
import { firstSecretRef } from '../../mailboxes/secret-refs.ts'
import type { OAuthAppSpec } from '../types.ts'
import { kindError, oauthAppSchema, withDefaults } from './schema.ts'
import { createApp, deleteApp, getAppView, listApps } from './repository.ts'

const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 63 } } }

/** The input schema without the secret and the input rules: the serializer cannot emit the secret even by mistake. */
const { clientSecret: _secret, ...shown } = oauthAppSchema.properties
const appViewSchema = {
  type: 'object',
  properties: { ...shown, imap: { type: 'object', properties: oauthAppSchema.properties.imap.properties }, createdAt: { type: 'string' }, updatedAt: { type: 'string' } }
}

export async function oauthAppRoutes (app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts

  app.post<{ Body: OAuthAppSpec }>('/oauth-apps', {
    schema: { body: oauthAppSchema, response: { 201: appViewSchema, '4xx': errorResponseSchema } },
    validatorCompiler: strictValidatorCompiler,
    preValidation: async (req) => {
      if (firstSecretRef(req.body, ['clientSecret']) !== undefined) {
        throw fieldError('clientSecret', 'must be the value: secret references ({file}, {env}) are read only from MAILSLOT_CONFIG')
      }
    }
  }, async (req, reply) => {
    const wrong = kindError(req.body)
    if (wrong !== undefined) throw fieldError(wrong.field, wrong.message)
    const view = await createApp(ctx.pool, ctx.keyring, withDefaults(req.body))
    req.log.info({ oauthApp: view.name }, 'OAuth app created')
    return await reply.status(201).send(view)
  })

  app.get('/oauth-apps', { schema: { response: { 200: { type: 'object', properties: { items: { type: 'array', items: appViewSchema } } } } } },
    async () => ({ items: await listApps(ctx.pool) }))

  app.get<{ Params: { name: string } }>('/oauth-apps/:name', {
    schema: { params: nameParams, response: { 200: appViewSchema, '4xx': errorResponseSchema } }
  }, async (req) => await getAppView(ctx.pool, req.params.name))

  app.delete<{ Params: { name: string } }>('/oauth-apps/:name', {
    schema: { params: nameParams, response: { '4xx': errorResponseSchema } }
  }, async (req, reply) => {
    await deleteApp(ctx.pool, req.params.name)
    req.log.info({ oauthApp: req.params.name }, 'OAuth app deleted')
    return await reply.status(204).send()
  })
}
