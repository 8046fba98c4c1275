/**
 * Rendering one page: the view (src/web/views/<view>.eta) inside the layout,
 * with what every page needs: a CSRF token for its forms (`it.csrfToken`,
 * through views/partials/csrf.eta), whether the admin is signed in (the
 * layout's navigation and sign-out button), and an optional notice.
 * Pages are never cached: they show live state, some behind a session.
 */
import type { FastifyReply } from 'fastify'

export interface Notice {
  kind: 'ok' | 'error'
  text: string
}

export interface PageData {
  /** The page's <title> and heading. */
  title: string
  /** A line above the content: what an action just did, or why it could not. */
  notice?: Notice
  /** `data` of the view; `body` is the layout's. */
  [name: string]: unknown
}

export async function renderPage (reply: FastifyReply, viewName: string, data: PageData, status = 200): Promise<FastifyReply> {
  const html = await reply.viewAsync(viewName, {
    ...data,
    csrfToken: reply.generateCsrf(),
    signedIn: reply.request.signedIn,
    path: reply.request.url.split('?')[0]
  })
  return await reply.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html)
}
