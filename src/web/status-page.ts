/**
 * The read-only status page a mailbox's owner opens from a status link.
 * - GET /status/:token  200 the mailbox's address, health, last success, last error and counts of
 *                       its recent emails by status and reason (never a subject, body or sender)
 *                       | 404 page when the link is unknown or expired
 */
import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.ts'
import { getMailboxView, type MailboxView } from '../mailboxes/repository.ts'
import { recentOutcomes } from '../inbound/counts.ts'
import { findStatusLink } from '../status-links/repository.ts'
import { AppError } from '../shared/errors.ts'
import { renderPage } from './render.ts'

/** The days of mail the counts cover. */
export const STATUS_DAYS = 7

/** The address the owner knows the mailbox by: the connected account, the Graph user, the IMAP login, else its wildcard address. */
function ownerAddress (m: MailboxView): string {
  return m.connection?.account ?? m.graph?.user ?? m.imap?.user ?? m.address ?? m.name
}

const tokenParams = { type: 'object', required: ['token'], properties: { token: { type: 'string', maxLength: 200 } } }

export async function statusPages (app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts
  app.get<{ Params: { token: string } }>('/status/:token', { schema: { params: tokenParams } }, async (req, reply) => {
    const link = await findStatusLink(ctx.pool, req.params.token)
    if (link === null) throw new AppError('not_found', 'This status link is unknown or has expired. Ask your administrator for a new one.')
    const mailbox = await getMailboxView(ctx.pool, link.mailboxName)
    const outcomes = await recentOutcomes(ctx.pool, mailbox.name, STATUS_DAYS)
    return await renderPage(reply, 'status', {
      title: 'Mailbox status',
      address: ownerAddress(mailbox),
      health: mailbox.health,
      outcomes,
      total: outcomes.reduce((sum, o) => sum + o.count, 0),
      days: STATUS_DAYS,
      expiresAt: link.expiresAt.toISOString()
    })
  })
}
