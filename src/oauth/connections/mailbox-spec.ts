/**
 * The settings of a mailbox a customer connected: what its app's kind and
 * access make of it. Google and Microsoft `access: imap` read the account's
 * mailbox over IMAP with XOAUTH2 (imap.auth.oauthApp); Microsoft `access:
 * graph` reads it through Graph with the delegated token (graph.oauthApp).
 * The API and the configuration file refuse these fields
 * (connectOnlyError): only the connect flow writes them, beside the grant.
 */
import type { MailboxSpec } from '../../mailboxes/types.ts'
import type { OAuthAppSpec } from '../types.ts'

/** The mailbox JSON of a connect link: everything but the provider and its credentials. */
export type ConnectableMailbox = Omit<MailboxSpec, 'provider' | 'imap' | 'graph'>

/** `app` with its defaults (as stored); `account` the address that granted access. */
export function connectedMailboxSpec (app: Omit<OAuthAppSpec, 'clientSecret'>, account: string, base: ConnectableMailbox): MailboxSpec {
  const { provider: _p, imap: _i, graph: _g, ...rest } = base as MailboxSpec
  if (app.kind === 'microsoft' && app.access === 'graph') {
    return { ...rest, provider: 'graph', graph: { oauthApp: app.name, user: account, ...(app.graphBaseUrl !== undefined ? { baseUrl: app.graphBaseUrl } : {}) } }
  }
  const imap = app.imap!
  return { ...rest, provider: 'imap', imap: { host: imap.host, port: imap.port, tls: imap.tls, user: account, auth: { oauthApp: app.name } } }
}
