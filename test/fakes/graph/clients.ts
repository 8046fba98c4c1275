// The real SDK clients pointed at a fake, configured exactly as mailslot
// configures them, so tests exercise the same code paths.
import { ClientSecretCredential } from '@azure/identity'
import { Client } from '@microsoft/microsoft-graph-client'
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js'
import type { FakeGraph } from './index.ts'

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default'

export function credentialFor (
  fake: FakeGraph, app: { tenantId: string; clientId: string; clientSecret: string } = fake
): ClientSecretCredential {
  // disableInstanceDiscovery: otherwise MSAL asks login.microsoftonline.com about the fake host.
  return new ClientSecretCredential(app.tenantId, app.clientId, app.clientSecret, {
    authorityHost: fake.url, disableInstanceDiscovery: true
  })
}

export function graphClientFor (fake: FakeGraph, credential: ClientSecretCredential = credentialFor(fake)): Client {
  return Client.initWithMiddleware({
    authProvider: new TokenCredentialAuthenticationProvider(credential, { scopes: [GRAPH_SCOPE] }),
    baseUrl: fake.url,
    defaultVersion: 'v1.0',
    // The SDK only sends the bearer token to Graph hosts and these (host name, no port).
    customHosts: new Set(['localhost']),
  })
}
