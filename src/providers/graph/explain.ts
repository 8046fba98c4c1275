/**
 * Microsoft's refusals in plain words: AADSTS codes from the identity
 * platform (Microsoft Entra's error code reference,
 * https://login.microsoftonline.com/error?code=N) and Graph's error answers.
 */
import type { GraphSettings } from '../../mailboxes/types.ts'
import { ProviderAuthError } from '../types.ts'
import { GraphRequestError } from './errors.ts'

const CONSENT = 'an administrator must grant admin consent to the app\'s permissions ' +
  '(Entra admin center → App registrations → the app → API permissions → Grant admin consent)'

/** The AADSTS codes a mailbox's app meets, by what to do about them. */
const AADSTS: Record<string, string> = {
  90002: 'there is no tenant by this id or domain in this cloud: check graph.tenantId (the Directory (tenant) ID of the app registration), and graph.cloud for a national cloud',
  900023: 'graph.tenantId is neither a tenant id (GUID) nor a domain name: copy the Directory (tenant) ID from the app registration',
  700016: 'no app with this client id in the tenant: check graph.clientId (the Application (client) ID) and that graph.tenantId is the tenant the app is registered or consented in',
  700011: 'no app with this client id in the tenant: check graph.clientId (the Application (client) ID)',
  7000215: 'the client secret is wrong: use the secret\'s Value (shown once, when it was created), not its Secret ID',
  7000222: 'the client secret has expired: create a new one under the app\'s Certificates & secrets and put it in graph.clientSecret',
  7000218: 'no client secret was sent: set graph.clientSecret',
  7000112: 'the app is disabled in the tenant: an administrator must enable its enterprise application again',
  65001: `the app has no consent for what it asks: ${CONSENT}`,
  650056: `the app is not configured for this: it lists no permission for the API, or ${CONSENT}`,
  500011: 'the API (Microsoft Graph) is not known in this tenant: the tenant is probably in another cloud (set graph.cloud), or the app was never consented there',
  53003: 'a Conditional Access policy of the tenant blocks this sign-in: an administrator must exclude the app (or its location) from the policy',
  70011: 'the scope asked for is not valid for this app (an app-only token needs https://graph.microsoft.com/.default)'
}

/** The plain-words meaning of the first AADSTS code in `text`; undefined without one. */
export function explainAadsts (text: string): string | undefined {
  const code = /AADSTS(\d+)/.exec(text)?.[1]
  if (code === undefined) return undefined
  return AADSTS[code] ?? `Microsoft's sign-in service refused the app (AADSTS${code}): https://login.microsoftonline.com/error?code=${code} explains it`
}

/** Application permissions (`roles`) of an app-only access token; undefined when it is not a readable JWT. */
export function tokenRoles (token: string): string[] | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { roles?: unknown }
    return Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : []
  } catch {
    return undefined
  }
}

export function hasMailAccess (roles: string[] | undefined): boolean {
  return roles?.includes('Mail.ReadWrite') ?? true
}

function answerOf (err: unknown): { status: number, code: string } {
  if (err instanceof GraphRequestError) return { status: err.status, code: err.code }
  if (err instanceof ProviderAuthError && err.answer !== undefined) return err.answer
  return { status: -1, code: '' }
}

/** What a failed Graph call for the mailbox's folder means; `roles` from the app's token, `folders` the user's top-level ones. */
export function explainGraph (err: unknown, s: GraphSettings, roles: string[] | undefined, folders: string[] = []): string {
  const { status, code } = answerOf(err)
  const message = err instanceof Error ? err.message : ''
  const aadsts = explainAadsts(message)
  if (aadsts !== undefined) return aadsts
  if (status === 403) {
    if (/AccessPolicy|RAOP|application access policy/i.test(message)) {
      return `an Exchange application access policy (or RBAC for Applications) keeps the app from ${s.user}: add the mailbox to the group the policy allows ` +
        `(Test-ApplicationAccessPolicy -Identity ${s.user} -AppId ${s.clientId} tells which policy applies)`
    }
    if (!hasMailAccess(roles)) {
      return `the app's token carries no Mail.ReadWrite application permission (it has: ${roles?.join(', ') || 'none'}): add Microsoft Graph → ` +
        `Application permissions → Mail.ReadWrite to the app, then ${CONSENT}`
    }
    return `Graph denied the app access to ${s.user}: either the Mail.ReadWrite application permission lacks admin consent, ` +
      'or an Exchange application access policy (or RBAC for Applications) does not include this mailbox'
  }
  if (status === 401) return 'Graph refused the app\'s token: it is for another cloud or API than graph.baseUrl (check graph.cloud), or it was revoked'
  if (status === 404 && /MailboxNotEnabledForRESTAPI|inactive, soft-deleted, or is hosted on-premise/i.test(`${code} ${message}`)) {
    return `${s.user} has no Exchange Online mailbox: it has no mail licence, it is on-premises, or it was deleted`
  }
  if ((status === 404 && code === 'ErrorItemNotFound') || code === 'ErrorInvalidIdMalformed') {
    const list = folders.length > 0 ? `; top-level folders of ${s.user}: ${folders.join(', ')}` : ''
    return `there is no folder "${s.folder ?? 'Inbox'}" in ${s.user}: set graph.folder to a well-known name (inbox, archive, …) or a folder's id${list}`
  }
  if (status === 404 || code === 'ErrorInvalidUser') return `there is no user ${s.user} in the tenant: check graph.user (the user principal name or object id)`
  if (status === 429 || status >= 500) return 'Graph is throttling or unavailable right now: try again in a few minutes'
  return `Graph refused the request (${status} ${code}): see the message above`
}
