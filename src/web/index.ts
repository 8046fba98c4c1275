/**
 * The server-rendered pages (docs/contract.md, "Web pages"), one scope of
 * their own beside the API: the shared framework (src/web/framework.ts),
 * then the pages. Admin pages go in the scope that requires a session;
 * pages for customers and owners (links with a token) outside it.
 */
import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.ts'
import { registerPageFramework } from './framework.ts'
import { requireAdminSession } from './session.ts'
import { signInPages } from './admin/sign-in.ts'
import { mailboxPages } from './admin/mailboxes.ts'
import { statusPages } from './status-page.ts'
import { connectLinkPages } from './admin/connect-links.ts'
import { connectPages } from './connect-page.ts'

export async function webPages (app: FastifyInstance, opts: { ctx: AppContext, publicRateLimit: number }): Promise<void> {
  const { ctx } = opts
  const session = await registerPageFramework(app, opts)
  await app.register(signInPages, { ctx, session })
  await app.register(async (admin) => {
    requireAdminSession(admin)
    await admin.register(mailboxPages, { ctx })
    await admin.register(connectLinkPages, { ctx })
  })
  await app.register(statusPages, { ctx })
  await app.register(connectPages, { ctx })
}
