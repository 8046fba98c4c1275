/**
 * Connected mailboxes without a browser: an OAuth app pointing at the fake
 * identity platform (test/fakes/graph; app JSON from oauth-apps.ts), a code
 * from the fake's authorize() (as if the customer signed in and consented),
 * the real code exchange (src/oauth/client.ts) and the real saveConnection;
 * then a poll at once, as after the connect flow.
 */
import * as oidc from 'openid-client'
import type { Test } from 'tap'
import type { FakeGraph } from '../fakes/graph/index.ts'
import type { OAuthAppSpec } from '../../src/oauth/types.ts'
import { googleApp, microsoftGraphApp, microsoftImapApp } from './oauth-apps.ts'
import { getApp } from '../../src/oauth/apps/repository.ts'
import { exchangeCode, scopesOf } from '../../src/oauth/client.ts'
import { openTokens, saveConnection } from '../../src/oauth/connections/repository.ts'
import { connectedMailboxSpec, type ConnectableMailbox } from '../../src/oauth/connections/mailbox-spec.ts'
import { createMailbox, mailboxIdByName } from '../../src/mailboxes/repository.ts'
import { transaction, type Queryable } from '../../src/db/pool.ts'
import type { Keyring } from '../../src/shared/crypto.ts'
import { requestSync } from '../../src/ingestion/request-sync.ts'
import type { TestRuntime } from './runtime.ts'
import { adminPages } from './pages.ts'

export type FakeAppKind = 'microsoft-graph' | 'microsoft-imap' | 'google'

/**
 * The app JSON of oauth-apps.ts by kind; IMAP apps point at `imap` (a
 * private Dovecot), else at a closed local port (for tests that never sync).
 */
export function fakeApp (
  fake: FakeGraph, kind: FakeAppKind, o: { name?: string, imap?: { host: string, port: number }, tenant?: string } = {}
): OAuthAppSpec {
  const over = { ...(o.name !== undefined ? { name: o.name } : {}), ...(o.tenant !== undefined ? { tenant: o.tenant } : {}) }
  if (kind === 'microsoft-graph') return microsoftGraphApp(fake, over)
  const imap = o.imap ?? { host: '127.0.0.1', port: 9 }
  return kind === 'google' ? googleApp(fake, imap, over) : microsoftImapApp(fake, imap, over)
}

const REDIRECT_URI = 'https://mailslot.test/oauth/callback'

/** The fake's grant (code → tokens, ID token validated) for `user` through the stored app `appName`. */
export async function grantOf (rt: TestRuntime, fake: FakeGraph, appName: string, user: string): ReturnType<typeof exchangeCode> {
  const app = await getApp(rt.ctx.pool, rt.ctx.keyring, appName)
  if (app === null) throw new Error(`no OAuth app ${appName}`)
  const codeVerifier = oidc.randomPKCECodeVerifier()
  const nonce = oidc.randomNonce()
  const state = oidc.randomState()
  const asked = { clientId: app.clientId, redirectUri: REDIRECT_URI, scope: scopesOf(app), user, nonce, codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier), codeChallengeMethod: 'S256' }
  const code = app.kind === 'google' ? fake.google.authorize(asked) : fake.authorize({ ...asked, tenant: app.tenant })
  const callbackUrl = new URL(`${REDIRECT_URI}?${new URLSearchParams({ code, state }).toString()}`)
  return await exchangeCode(app, { callbackUrl, redirectUri: REDIRECT_URI, expectedState: state, codeVerifier, nonce })
}

/**
 * Connects `user`'s mailbox through the stored app `appName`: a new mailbox
 * from `mailbox` (the connect link's mailbox JSON), or, given a name, a
 * reconnect of that mailbox (its settings, cursor and emails kept).
 */
export async function connectMailbox (
  rt: TestRuntime, fake: FakeGraph, o: { app: string, user: string, mailbox: ConnectableMailbox | string }
): Promise<{ id: number, name: string }> {
  const { tokens, account } = await grantOf(rt, fake, o.app, o.user)
  const app = (await getApp(rt.ctx.pool, rt.ctx.keyring, o.app))!
  const id = await transaction(rt.ctx.pool, async (client) => {
    const mailboxId = typeof o.mailbox === 'string'
      ? await mailboxIdByName(client, o.mailbox)
      : (await createMailbox(rt.ctx, client, connectedMailboxSpec(app, account.account, o.mailbox))).id
    await saveConnection(client, rt.ctx.keyring, { mailboxId, appId: app.id, account, tokens })
    return mailboxId
  })
  await requestSync(rt.ctx, id, 'manual')
  return { id, name: typeof o.mailbox === 'string' ? o.mailbox : o.mailbox.name }
}

/** A built-in project with Service Desk on: where a customer's connected mailbox sends its mail. */
export async function serviceDeskProject (
  rt: TestRuntime, path = 'customer/support'
): Promise<{ id: number, issues: () => Promise<Array<{ title: string, serviceDesk: boolean }>> }> {
  const res = await rt.api('POST', '/api/v1/projects', { path, serviceDesk: true })
  if (res.status !== 201) throw new Error(`project: ${res.status} ${res.text}`)
  const id = res.body.id as number
  return { id, issues: async () => (await rt.api('GET', `/api/v1/projects/${id}/issues`)).body.items }
}

/** The sealed tokens of every connection, opened: to check that none of them leaks. */
export async function storedTokens (db: Queryable, keyring: Keyring): Promise<string[]> {
  const { rows } = await db.query<{ tokens: Buffer }>('SELECT tokens FROM oauth_connections')
  return rows.flatMap(r => Object.values(openTokens(keyring, r.tokens)))
}

/**
 * No client secret, access token or refresh token (stored now, or presented
 * to the fake before) in the logs, the API's answers, the admin pages or
 * /metrics; and no
 * JWT-shaped text at all (access and ID tokens are JWTs).
 */
export async function assertNoTokensShown (t: Test, rt: TestRuntime, fake: FakeGraph): Promise<void> {
  const presented = fake.tokenRequests.flatMap(r => r.refreshToken ?? [])
  const secrets = [fake.clientSecret, fake.google.clientSecret, ...await storedTokens(rt.ctx.pool, rt.ctx.keyring), ...presented]
  const page = await adminPages(rt.address!, rt.token)
  const names = ((await rt.api('GET', '/api/v1/mailboxes')).body.items as Array<{ name: string }>).map(m => m.name)
  const pages = ['/admin/mailboxes', '/admin/connect-links', ...names.map(n => `/admin/mailboxes/${encodeURIComponent(n)}`)]
  const shown: Record<string, string> = {
    logs: rt.logs(),
    mailboxes: (await rt.api('GET', '/api/v1/mailboxes')).text,
    apps: (await rt.api('GET', '/api/v1/oauth-apps')).text,
    metrics: (await rt.api('GET', '/metrics')).text
  }
  for (const path of pages) shown[`page ${path}`] = (await page(path)).html
  for (const [where, text] of Object.entries(shown)) {
    t.notOk(secrets.some(s => text.includes(s)), `no secret or token in ${where}`)
    t.notMatch(text, /eyJ[\w-]{8,}\.[\w-]{8,}/, `nothing JWT-shaped in ${where}`)
  }
}
