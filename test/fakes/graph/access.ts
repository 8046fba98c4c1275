// Which mailbox a Graph request may touch: /me for delegated tokens (with a
// Mail.Read or, to change mail, Mail.ReadWrite scope), any mailbox of the
// token's tenant for app-only tokens unless an application access policy
// blocks it.
import { type GraphCtx, graphError } from './http.ts'
import type { Mailbox, MailStore } from './mailstore.ts'

/** What a request does with the mailbox: read its profile (any delegated scope), read mail, change mail. */
export type MailAccess = 'profile' | 'read' | 'write'

/** Resolve `user` ('me', a GUID or a UPN); answers the error and returns undefined when not allowed. */
export function resolveMailbox (ctx: GraphCtx, store: MailStore, user: string, access: MailAccess): Mailbox | undefined {
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
  if (token.userId && (token.userId !== mailbox.id || !scopeAllows(token.scope, access))) {
    graphError(ctx, 403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.')
    return undefined
  }
  if (!token.userId && mailbox.deniedAccess) {
    graphError(ctx, 403, 'ErrorAccessDenied', 'Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.')
    return undefined
  }
  return mailbox
}

function scopeAllows (scope: string, access: MailAccess): boolean {
  if (access === 'profile') return true
  const scopes = scope.toLowerCase().split(' ').map((s) => s.replace(/^https:\/\/graph\.microsoft\.com\//, ''))
  return scopes.includes('mail.readwrite') || (access === 'read' && scopes.includes('mail.read'))
}
