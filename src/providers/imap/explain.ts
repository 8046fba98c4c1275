/**
 * IMAP refusals in plain words, from what the server answered (imapflow's
 * `responseText`, `serverResponseCode`). Exchange Online gets its own words:
 * it answers a bare "LOGIN failed." / "AUTHENTICATE failed." whatever the
 * cause, so the cause is told from what was sent (a password or a token).
 */
import type { ImapSettings } from '../../mailboxes/types.ts'

export interface ImapRefusal { responseText?: string, serverResponseCode?: string, message?: string }

/** Exchange Online's IMAP hosts (global, GCC High / DoD, 21Vianet). */
const MICROSOFT_HOSTS = /(^|\.)(outlook\.office365\.com|outlook\.office\.com|office365\.us|partner\.outlook\.cn)$/i

/** The server is Exchange (Online): by its host name or its greeting. */
export function isExchange (host: string, greeting: string | undefined): boolean {
  return MICROSOFT_HOSTS.test(host) || /Microsoft Exchange/i.test(greeting ?? '')
}

/** What the server said, with its response code: `"Authentication failed." [AUTHENTICATIONFAILED]`. */
export function serverSaid (err: ImapRefusal): string {
  const text = err.responseText ?? err.message ?? 'no answer'
  return `the server said "${text}"${err.serverResponseCode !== undefined ? ` [${err.serverResponseCode}]` : ''}`
}

/** imapflow's words when the server lists no login mechanism it can use. */
const NO_MECHANISM = /Unsupported authentication mechanism/i

/** A login the server refused (a tagged NO/BAD), or one it offers no way to make. */
export function isLoginFailure (err: unknown): boolean {
  const e = err as { authenticationFailed?: boolean, message?: string } | null
  return e?.authenticationFailed === true || NO_MECHANISM.test(e?.message ?? '')
}

export function explainLogin (err: ImapRefusal, s: ImapSettings, exchange: boolean): string {
  const text = err.responseText ?? ''
  const token = s.auth?.accessToken !== undefined
  if (NO_MECHANISM.test(err.message ?? '')) {
    return token
      ? 'the server takes no access tokens: its capabilities list neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER; log in with a password'
      : 'the server offers no password login (LOGINDISABLED): it may allow one only after STARTTLS (set imap.tls to starttls or implicit)'
  }
  if (/basic authentication is disabled/i.test(text) || (exchange && !token)) {
    return 'Exchange Online refuses passwords over IMAP: Microsoft has turned basic authentication (user name and password) off for IMAP ' +
      'tenant-wide, so the login fails even when the password is right (a wrong password gets the same answer). ' +
      'Use a Graph mailbox (provider: graph, an app with the Mail.ReadWrite application permission) or IMAP with OAuth (imap.auth.accessToken).'
  }
  if (exchange) {
    return 'Exchange Online refused the access token. It must be issued for https://outlook.office365.com with IMAP.AccessAsUser.All ' +
      '(delegated) or IMAP.AccessAsApp (app-only: the app also needs an Exchange service principal with access to this mailbox, ' +
      'New-ServicePrincipal and Add-MailboxPermission), must not have expired, and IMAP must be enabled for the user ' +
      '(Set-CASMailbox -ImapEnabled $true; an admin may have disabled it for this user or by default for new ones).'
  }
  const code = err.serverResponseCode?.toUpperCase()
  if (code === 'UNAVAILABLE') return 'the server could not check the login just now (its authentication backend is unavailable): try again later'
  if (code === 'EXPIRED') return `the password of ${s.user} has expired: set a new one on the mail server, then in the mailbox`
  if (code === 'PRIVACYREQUIRED' || /plaintext auth|cleartext|ssl\/tls required|requires? (ssl|tls)/i.test(text)) {
    return 'the server accepts logins only over TLS: set imap.tls to implicit (port 993) or starttls'
  }
  if (/application-specific password|app password/i.test(text)) {
    return 'the account has two-step verification: the server wants an app password (or OAuth) instead of the account password'
  }
  return `the server refused ${s.user} with this ${token ? 'access token' : 'password'}: check imap.user (often the full address) and ` +
    `${token ? 'that the token is current and issued for this server' : 'the password'}; some servers also refuse after too many failed attempts`
}

/** A folder that cannot be opened; `folders` are the ones the server lists for the user. */
export function explainFolder (err: ImapRefusal & { mailboxMissing?: boolean }, folder: string, folders: string[]): string {
  const text = err.responseText ?? ''
  if (/authenticated but not connected/i.test(text)) {
    return 'Exchange Online accepted the login but will not open the mailbox: IMAP is disabled for this user (Set-CASMailbox -ImapEnabled $true), ' +
      'or, with an app-only token, the app was not given access to the mailbox (Add-MailboxPermission … -AccessRights FullAccess)'
  }
  if (err.mailboxMissing === true || err.serverResponseCode?.toUpperCase() === 'NONEXISTENT' || /doesn'?t exist|not exist|no such|unknown mailbox/i.test(text)) {
    const list = folders.length > 0 ? `; this user has: ${folders.join(', ')}` : ''
    return `there is no folder "${folder}" for this user: set imap.folder to its full path as the server names it${list}`
  }
  return `the server would not open "${folder}" (read-only): check the user's rights on that folder`
}
