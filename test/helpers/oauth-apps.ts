/**
 * OAuth app JSON (docs: contract "OAuth apps, connect links and status
 * links") that points mailslot at the fake identity platform
 * (test/fakes/graph) and, for IMAP access, at a Dovecot started by
 * startOAuthImap (plain IMAP on loopback). mailslot must run in the process
 * that started the fake (its CA is trusted there) or with NODE_EXTRA_CA_CERTS.
 */
import type { FakeGraph } from '../fakes/graph/index.ts'
import type { OAuthAppSpec } from '../../src/oauth/types.ts'

type Imap = { host: string, port: number }

/** Microsoft, Graph delegated access, multi-tenant (`organizations`: the `{tenantid}` issuer). */
export function microsoftGraphApp (fake: FakeGraph, over: Partial<OAuthAppSpec> = {}): OAuthAppSpec {
  return {
    name: 'm365', kind: 'microsoft', access: 'graph', clientId: fake.clientId, clientSecret: fake.clientSecret,
    tenant: 'organizations', authorityHost: fake.url, graphBaseUrl: fake.url, ...over,
  }
}

/** Microsoft, IMAP with XOAUTH2 (IMAP.AccessAsUser.All tokens) against the OAuth Dovecot. */
export function microsoftImapApp (fake: FakeGraph, imap: Imap, over: Partial<OAuthAppSpec> = {}): OAuthAppSpec {
  return {
    name: 'm365-imap', kind: 'microsoft', access: 'imap', clientId: fake.clientId, clientSecret: fake.clientSecret,
    tenant: 'organizations', authorityHost: fake.url, imap: { host: imap.host, port: imap.port, tls: 'none' }, ...over,
  }
}

/** Google, IMAP with XOAUTH2 (https://mail.google.com/ tokens) against the OAuth Dovecot. */
export function googleApp (fake: FakeGraph, imap: Imap, over: Partial<OAuthAppSpec> = {}): OAuthAppSpec {
  return {
    name: 'gmail', kind: 'google', clientId: fake.google.clientId, clientSecret: fake.google.clientSecret,
    issuer: fake.google.issuer, imap: { host: imap.host, port: imap.port, tls: 'none' }, ...over,
  }
}
