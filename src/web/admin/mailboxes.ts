/**
 * The operator's view of mailboxes (behind the admin session).
 * - GET  /admin/mailboxes                               200 one row per mailbox: health, waiting emails, subscription, connection
 * - GET  /admin/mailboxes/:name                         200 the mailbox and its recent emails | 404 page
 * - POST /admin/mailboxes/:name/emails/:id/replay       303 back to the mailbox, with a notice
 *                                                       | 404 | 409 not replayable | 403 bad CSRF token
 */
import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../../context.ts'
import { getMailboxView, listMailboxes } from '../../mailboxes/repository.ts'
import { waitingByMailbox } from '../../inbound/counts.ts'
import { getEmail, listEmails } from '../../inbound/repository.ts'
import { replayEmail } from '../../inbound/replay.ts'
import { AppError } from '../../shared/errors.ts'
import { renderPage, type Notice } from '../render.ts'

/** Emails the mailbox page lists, newest first. */
export const RECENT_EMAILS = 50

const ATTENTION = new Set(['failing', 'auth_failed', 'reauth_required'])

const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 63 } } }
const replayParams = { ...nameParams, required: ['name', 'id'], properties: { ...nameParams.properties, id: { type: 'integer', minimum: 1 } } }
const noticeQuery = { type: 'object', properties: { replayed: { type: 'integer', minimum: 1 } } }

export const mailboxPath = (name: string): string => `/admin/mailboxes/${encodeURIComponent(name)}`

export async function mailboxPages (app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts

  app.get('/admin/mailboxes', async (_req, reply) => {
    const [mailboxes, waiting] = await Promise.all([listMailboxes(ctx.pool), waitingByMailbox(ctx.pool)])
    const rows = mailboxes.map(m => ({ ...m, waiting: waiting.get(m.id) ?? 0, href: mailboxPath(m.name) }))
    const totals = {
      mailboxes: rows.length,
      ok: rows.filter(r => r.health.state === 'ok').length,
      attention: rows.filter(r => ATTENTION.has(r.health.state)).length,
      waiting: rows.reduce((sum, r) => sum + r.waiting, 0)
    }
    return await renderPage(reply, 'mailboxes', { title: 'Mailboxes', rows, totals })
  })

  app.get<{ Params: { name: string }, Querystring: { replayed?: number } }>('/admin/mailboxes/:name', {
    schema: { params: nameParams, querystring: noticeQuery }
  }, async (req, reply) => {
    const mailbox = await getMailboxView(ctx.pool, req.params.name)
    const emails = await listEmails(ctx.pool, { mailbox: mailbox.name, limit: RECENT_EMAILS })
    const notice: Notice | undefined = req.query.replayed === undefined
      ? undefined
      : { kind: 'ok', text: `Email ${req.query.replayed} is queued to be handled again.` }
    return await renderPage(reply, 'mailbox', { title: mailbox.name, mailbox, emails, limit: RECENT_EMAILS, notice })
  })

  app.post<{ Params: { name: string, id: number } }>('/admin/mailboxes/:name/emails/:id/replay', {
    schema: { params: replayParams }
  }, async (req, reply) => {
    const email = await getEmail(ctx.pool, req.params.id)
    if (email.mailbox !== req.params.name) throw new AppError('not_found', `no email ${req.params.id} in mailbox "${req.params.name}"`)
    await replayEmail(ctx, email.id)
    req.log.info({ emailId: email.id, mailbox: email.mailbox }, 'replay requested from the admin page')
    return await reply.redirect(`${mailboxPath(email.mailbox)}?replayed=${email.id}`, 303)
  })
}
