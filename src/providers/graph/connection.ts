/**
 * How mailslot talks to Graph for one mailbox. One SDK client per app
 * (tenant + client id + secret + hosts) is shared process-wide: its
 * ClientSecretCredential keeps the access token until near expiry, so
 * thousands of syncs cost one token request per app and hour. Every request
 * of a mailbox passes its gate (≤ 4 in flight; a 429's Retry-After pauses
 * them all, retries included). A 401 from Graph rebuilds the credential once.
 * A connected mailbox (graph.oauthApp) sends the customer's delegated token
 * instead (AccessTokens); a 401 gets one newer token (access-token.ts).
 */
import { createHash } from 'node:crypto'
import { ClientSecretCredential } from '@azure/identity'
import {
  Client, MiddlewareFactory, type AuthenticationProvider, type Context, type GraphRequest, type Middleware, type MiddlewareOptions
} from '@microsoft/microsoft-graph-client'
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js'
import type { GraphAppSettings, GraphSettings } from '../../mailboxes/types.ts'
import { ReauthRequiredError, type AccessTokens } from '../types.ts'
import { withAccessToken } from '../access-token.ts'
import { endpointsOf, type GraphEndpoints } from './endpoints.ts'
import { classify, statusOf } from './errors.ts'
import { gateFor, retryAfterMs, type MailboxGate } from './gate.ts'

/** Tells the gate middleware which mailbox a request belongs to. */
class GateOption implements MiddlewareOptions {
  readonly gate: MailboxGate
  constructor (gate: MailboxGate) { this.gate = gate }
}

/** Sits just before the HTTP send, so it sees every attempt, the SDK's retries included. */
class GateMiddleware implements Middleware {
  private next: Middleware | undefined
  async execute (context: Context): Promise<void> {
    const gate = (context.middlewareControl?.getMiddlewareOptions(GateOption) as GateOption | undefined)?.gate
    await gate?.whenOpen()
    await this.next!.execute(context)
    if (gate !== undefined && context.response?.status === 429) gate.pause(retryAfterMs(context.response.headers.get('retry-after')))
  }

  setNext (next: Middleware): void { this.next = next }
}

/** A Graph request (retries and Retry-After waits included) that takes longer is abandoned. Default 120 s. */
const REQUEST_TIMEOUT_MS = 120_000

interface AppClient { key: string, client: Client }

/** Apps whose clients are kept; the least recently used goes first. */
const MAX_APPS = 10_000
const apps = new Map<string, AppClient>()

function appKey (s: GraphAppSettings, e: GraphEndpoints): string {
  return createHash('sha256').update([s.tenantId, s.clientId, s.clientSecret, e.authorityHost, e.baseUrl].join('\n')).digest('base64url')
}

/** The app's credential (client credentials grant) at its cloud's or its own authority. */
export function appCredential (s: GraphAppSettings, e: GraphEndpoints): ClientSecretCredential {
  return new ClientSecretCredential(s.tenantId, s.clientId, s.clientSecret, {
    authorityHost: e.authorityHost,
    // otherwise MSAL asks login.microsoftonline.com about a host it does not know
    ...(e.customAuthority ? { disableInstanceDiscovery: true } : {})
  })
}

function buildClient (auth: AuthenticationProvider, e: GraphEndpoints): Client {
  const chain = MiddlewareFactory.getDefaultMiddlewareChain(auth)
  chain.splice(chain.length - 1, 0, new GateMiddleware())
  return Client.initWithMiddleware({
    middleware: chain,
    baseUrl: e.baseUrl,
    defaultVersion: 'v1.0',
    // the SDK sends the token only to Graph's own hosts and these (host name, no port)
    customHosts: new Set([new URL(e.baseUrl).hostname])
  })
}

function appClient (s: GraphAppSettings, e: GraphEndpoints, stale?: AppClient): AppClient {
  const key = appKey(s, e)
  let entry = apps.get(key)
  if (entry !== undefined) apps.delete(key)
  // only the first caller that saw a 401 on this client replaces it
  if (entry === undefined || entry === stale) {
    entry = { key, client: buildClient(new TokenCredentialAuthenticationProvider(appCredential(s, e), { scopes: [e.scope] }), e) }
  }
  apps.set(key, entry)
  if (apps.size > MAX_APPS) apps.delete(apps.keys().next().value as string)
  return entry
}

export type RequestFor = (path: string, prefer?: string[]) => GraphRequest

export class GraphConnection {
  readonly user: string
  private readonly settings: GraphSettings
  private readonly endpoints: GraphEndpoints
  private readonly gate: MailboxGate
  private readonly option: GateOption
  private readonly timeoutMs: number
  /** A connected mailbox's delegated tokens; undefined for app-only access. */
  private readonly tokens: AccessTokens | undefined
  /** The SDK client sending the delegated token last handed out. */
  private delegated: { token: string, client: Client } | undefined

  /** `tokens`: the mailbox's OAuth access tokens, needed (and used) when it is a connected one (graph.oauthApp). */
  constructor (settings: GraphSettings, timeoutMs = REQUEST_TIMEOUT_MS, tokens?: AccessTokens) {
    this.timeoutMs = timeoutMs
    this.settings = settings
    this.endpoints = endpointsOf(settings)
    this.user = encodeURIComponent(settings.user)
    if (settings.oauthApp !== undefined && tokens === undefined) throw new Error('a connected Graph mailbox needs its access tokens')
    this.tokens = settings.oauthApp === undefined ? undefined : tokens
    const credentials = settings.oauthApp === undefined ? [settings.tenantId, settings.clientId] : [settings.oauthApp]
    this.gate = gateFor([this.endpoints.baseUrl, ...credentials, settings.user.toLowerCase()].join('\n'))
    this.option = new GateOption(this.gate)
  }

  /**
   * Runs `fn` holding one of the mailbox's request slots (read response
   * bodies inside it). Errors come out classified (ProviderAuthError,
   * GraphRequestError, ReauthRequiredError); a 401 is retried once with a
   * fresh credential or token.
   */
  async call<T> (fn: (request: RequestFor) => Promise<T>): Promise<T> {
    return await this.gate.run(async () => {
      if (this.tokens !== undefined) return await this.callDelegated(this.tokens, fn)
      const settings = this.settings as GraphAppSettings
      const entry = appClient(settings, this.endpoints)
      try {
        return await fn(this.requestFor(entry.client))
      } catch (err) {
        if (statusOf(err) !== 401) throw classify(err)
        const fresh = appClient(settings, this.endpoints, entry)
        try { return await fn(this.requestFor(fresh.client)) } catch (again) { throw classify(again) }
      }
    })
  }

  private async callDelegated<T> (tokens: AccessTokens, fn: (request: RequestFor) => Promise<T>): Promise<T> {
    try {
      const attempt = async (token: string): Promise<T> => await fn(this.requestFor(this.delegatedClient(token)))
      return await withAccessToken(tokens, attempt, err => statusOf(err) === 401, err => classify(err).message)
    } catch (err) {
      throw err instanceof ReauthRequiredError ? err : classify(err)
    }
  }

  private delegatedClient (token: string): Client {
    if (this.delegated?.token !== token) {
      this.delegated = { token, client: buildClient({ getAccessToken: async () => token }, this.endpoints) }
    }
    return this.delegated.client
  }

  /** A request for a path under /v1.0 or an absolute next/delta link; always with immutable ids. */
  private requestFor (client: Client): RequestFor {
    return (path, prefer = []) => client.api(path)
      .middlewareOptions([this.option])
      .header('Prefer', ['IdType="ImmutableId"', ...prefer].join(', '))
      // a hung answer must not hold one of the mailbox's 4 slots for ever
      .option('signal', AbortSignal.timeout(this.timeoutMs))
  }
}
