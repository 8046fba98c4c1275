// Which mailbox a Graph request may touch: /me for delegated tokens, any
// mailbox of the token's tenant for app-only tokens unless an application
// access policy blocks it.
import { type GraphCtx, graphError } from './http.ts'
import type { Mailbox, MailStore } from './mailstore.ts'

/** Resolve `user` ('me', a GUID or a UPN); answers the error and returns undefined when not allowed. */
export function resolveMailbox (ctx: GraphCtx, store: MailStore, user: string): Mailbox | undefined {
  const { token } = ctx
  if (user.toLowerCase() === 'me') {
    if (!token.userId) {
      graphError(ctx, 400, 'BadRequest', '/me request is only valid with delegated authentication flow.')
      return undefined
    }
    user = token.userId
  }
  const mailbox = store.find(user)
  if (!mailbox || mailbox.tenantId !== token.tenantId) {
    graphError(ctx, 404, 'ErrorInvalidUser', `The requested user '${user}' is invalid.`)
    return undefined
  }
  if (token.userId && token.userId !== mailbox.id) {
    graphError(ctx, 403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.')
    return undefined
  }
  if (!token.userId && mailbox.deniedAccess) {
    graphError(ctx, 403, 'ErrorAccessDenied', 'Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.')
    return undefined
  }
  return mailbox
}
