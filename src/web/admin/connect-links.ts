/**
 * Connect links from the admin pages (behind the admin session).
 * - GET  /admin/connect-links  200 the form and the newest links with their state (open, used, expired)
 * - POST /admin/connect-links  200 the page showing the new link's URL, this once
 *                              | 400/409 the form again, with the error and the values given | 403 bad CSRF token
 * A link's token is never shown again: the list names links by mailbox and id.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AppContext } from '../../context.ts'
import { listMailboxes } from '../../mailboxes/repository.ts'
import { listProjects } from '../../handlers/builtin/projects.ts'
import { listApps } from '../../oauth/apps/repository.ts'
import { createConnectLink, DEFAULT_EXPIRY_MINUTES, MAX_EXPIRY_MINUTES, type ConnectLinkRequest, type CreatedLink } from '../../oauth/connect/create-link.ts'
import { recentLinks } from '../../oauth/connect/links.ts'
import { AppError } from '../../shared/errors.ts'
import { renderPage, type Notice } from '../render.ts'

/** The form's fields; formbody gives a repeated checkbox as an array. */
interface LinkForm {
  existing?: string
  name?: string
  serviceDeskProjectId?: string
  address?: string
  apps?: string | string[]
  expiresInMinutes?: string
}

const EXPIRY_CHOICES = [[60, '1 hour'], [DEFAULT_EXPIRY_MINUTES, '1 day'], [4320, '3 days'], [MAX_EXPIRY_MINUTES, '7 days']] as const

const RECENT_LINKS = 50
const PATH = '/admin/connect-links'

/** The API request the form stands for: an existing mailbox's name, or a new mailbox's JSON from its fields. */
function requestFromForm (form: LinkForm): ConnectLinkRequest {
  const text = (v: string | undefined): string | undefined => v === undefined || v.trim() === '' ? undefined : v.trim()
  const apps = form.apps === undefined ? [] : [form.apps].flat()
  const expires = text(form.expiresInMinutes)
  const existing = text(form.existing)
  const project = text(form.serviceDeskProjectId)
  const address = text(form.address)
  const mailbox = existing ?? {
    name: text(form.name) ?? '',
    ...(project !== undefined ? { serviceDeskProjectId: Number(project) } : {}),
    ...(address !== undefined ? { address } : {})
  }
  return { mailbox, apps, ...(expires !== undefined ? { expiresInMinutes: Number(expires) } : {}) }
}

/** A field error as the form's words: which field, what is wrong. */
function formNotice (err: AppError): Notice {
  const field = err.field?.replace(/^mailbox\./, '') ?? ''
  const label: Record<string, string> = {
    mailbox: 'Mailbox',
    name: 'New mailbox name',
    serviceDeskProjectId: 'Service Desk project',
    address: 'Address',
    apps: 'Ways to connect',
    expiresInMinutes: 'Expires after'
  }
  return { kind: 'error', text: label[field] !== undefined ? `${label[field]}: ${err.message.replace(/^\S+ /, '')}` : err.message }
}

export async function connectLinkPages (app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts

  type Shown = { notice?: Notice, created?: CreatedLink, form?: LinkForm }
  async function show (reply: FastifyReply, extra: Shown, status = 200): Promise<FastifyReply> {
    const [mailboxes, projects, apps, links] = await Promise.all([
      listMailboxes(ctx.pool), listProjects(ctx.pool), listApps(ctx.pool), recentLinks(ctx.pool, RECENT_LINKS)
    ])
    return await renderPage(reply, 'connect-links', {
      title: 'Connect links',
      publicUrlSet: ctx.settings.publicUrl !== undefined,
      mailboxes: mailboxes.map(m => m.name),
      projects: projects.map(p => ({ id: p.id, path: p.path })),
      apps: apps.map(a => ({ name: a.name, kind: a.kind, access: a.kind === 'microsoft' ? (a.access ?? 'graph') : 'imap' })),
      expiryChoices: EXPIRY_CHOICES,
      links: links.map(l => ({
        id: l.id,
        mailbox: l.mailbox.name,
        reconnect: l.mailboxId !== null,
        apps: l.apps,
        state: l.state,
        createdAt: l.createdAt.toISOString(),
        expiresAt: l.expiresAt.toISOString(),
        usedAt: l.usedAt?.toISOString() ?? null
      })),
      form: extra.form ?? { expiresInMinutes: String(DEFAULT_EXPIRY_MINUTES) },
      created: extra.created,
      notice: extra.notice
    }, status)
  }

  app.get(PATH, async (_req, reply) => await show(reply, {}))

  app.post<{ Body: LinkForm & { _csrf?: string } }>(PATH, async (req, reply) => {
    const { _csrf, ...form } = req.body ?? {}
    try {
      const created = await createConnectLink(ctx, requestFromForm(form))
      req.log.info({ link: created.id }, 'connect link created from the admin page')
      return await show(reply, { created, notice: { kind: 'ok', text: 'The link is ready: send it to the mailbox owner. It is shown only now.' } })
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err
      return await show(reply, { notice: formNotice(err), form }, err.status)
    }
  })
}
