/**
 * /api/v1/projects (the built-in store)
 * - POST /              201 {id, path, slug, incomingEmailToken, addresses:{issue, serviceDesk}, …}
 *                       | 400 invalid_<field> | 409 project_exists
 * - GET  /              200 {items}
 * - GET  /:id           200 the project | 404
 * - GET  /:id/issues    200 {items:[{id, iid, title, description, author, serviceDesk, replyKey, replyAddress, notes:[…]}]} | 404
 */
import type { FastifyInstance } from 'fastify'
import { strictValidatorCompiler } from '../../shared/strict-ajv.ts'
import { createProject, getProject, listProjects, newProjectSchema, type NewProject, type Project } from '../../handlers/builtin/projects.ts'
import { listIssues, projectView } from '../../handlers/builtin/views.ts'
import type { AppContext } from '../../context.ts'
import { AppError, errorResponseSchema } from '../../shared/errors.ts'

const attachment = { type: 'object', properties: { filename: { type: 'string' }, contentType: { type: 'string' }, size: { type: 'integer' } } }
const projectSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' }, path: { type: 'string' }, slug: { type: 'string' }, incomingEmailToken: { type: 'string' },
    serviceDesk: { type: 'boolean' }, serviceDeskKey: { type: ['string', 'null'] }, customEmail: { type: ['string', 'null'] },
    address: { type: ['string', 'null'] },
    addresses: { type: 'object', properties: { issue: { type: ['string', 'null'] }, serviceDesk: { type: ['string', 'null'] } } }
  }
}
const noteSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' }, body: { type: 'string' }, author: { type: 'string' }, replyKey: { type: 'string' },
    replyAddress: { type: ['string', 'null'] }, createdAt: { type: 'string' }, attachments: { type: 'array', items: attachment }
  }
}
const issueSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' }, iid: { type: 'integer' }, title: { type: 'string' }, description: { type: 'string' },
    author: { type: 'string' }, serviceDesk: { type: 'boolean' }, replyKey: { type: 'string' }, replyAddress: { type: ['string', 'null'] },
    createdAt: { type: 'string' }, attachments: { type: 'array', items: attachment }, notes: { type: 'array', items: noteSchema },
    unsubscribed: { type: 'array', items: { type: 'string' } }
  }
}
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } }

async function existingProject (ctx: AppContext, id: number): Promise<Project> {
  const project = await getProject(ctx.pool, id)
  if (project === null) throw new AppError('not_found', `no project ${id}`)
  return project
}

export async function projectRoutes (app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts
  app.post<{ Body: NewProject }>('/projects', {
    schema: { body: newProjectSchema, response: { 201: projectSchema, '4xx': errorResponseSchema } },
    validatorCompiler: strictValidatorCompiler
  }, async (req, reply) => {
    const project = await createProject(ctx.pool, req.body)
    return await reply.status(201).send(projectView(project))
  })

  app.get('/projects', { schema: { response: { 200: { type: 'object', properties: { items: { type: 'array', items: projectSchema } } } } } },
    async () => ({ items: (await listProjects(ctx.pool)).map(projectView) }))

  app.get<{ Params: { id: number } }>('/projects/:id', { schema: { params: idParams, response: { 200: projectSchema, '4xx': errorResponseSchema } } },
    async (req) => projectView(await existingProject(ctx, req.params.id)))

  app.get<{ Params: { id: number } }>('/projects/:id/issues', {
    schema: { params: idParams, response: { 200: { type: 'object', properties: { items: { type: 'array', items: issueSchema } } }, '4xx': errorResponseSchema } }
  }, async (req) => {
    await existingProject(ctx, req.params.id)
    return { items: await listIssues(ctx.pool, req.params.id) }
  })
}
