// Customers' mailboxes read over IMAP with XOAUTH2 against the private
// Dovecot, whose oauth2 passdb asks the fake identity platform about each
// token: a Microsoft app with access imap and a Google app. New mail becomes
// Service Desk issues; expired tokens are refreshed before a login (Google
// keeps its refresh token); a revoked grant stops that mailbox alone.
import t from 'tap'
import { makeEmail } from '../helpers/emails.ts'
import { waitFor } from '../helpers/wait.ts'
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { finishedCount } from '../helpers/rows.ts'
import { startOAuthImap } from '../helpers/oauth-imap.ts'
import { googleApp, microsoftImapApp } from '../helpers/oauth-apps.ts'
import { assertNoTokensShown, connectMailbox, serviceDeskProject } from '../helpers/oauth.ts'
import { view } from '../helpers/graph-fixture.ts'

async function pollUntilHandled (rt: TestRuntime, name: string, n: number): Promise<void> {
  await rt.api('POST', `/api/v1/mailboxes/${name}/poll`)
  await waitFor(async () => (await finishedCount(rt, name)) === n, `${n} handled in ${name}`, 30_000)
}

t.test('XOAUTH2 for Microsoft (access imap) and Google: mail handled, tokens refreshed, a revoked one stops alone', async t => {
  t.setTimeout(180_000)
  const { fake, imap, stop } = await startOAuthImap()
  t.teardown(stop)
  const rt = await startTestRuntime(t)
  const alice = fake.addMailbox('alice@contoso.example')
  const carol = fake.google.addUser('carol@customer.example')
  t.equal((await rt.api('POST', '/api/v1/oauth-apps', microsoftImapApp(fake, imap))).status, 201)
  t.equal((await rt.api('POST', '/api/v1/oauth-apps', googleApp(fake, imap))).status, 201)
  const project = await serviceDeskProject(rt)
  const boxes = [{ name: 'alice', app: 'm365-imap', user: alice.upn }, { name: 'carol', app: 'gmail', user: carol.email }]
  for (const b of boxes) {
    await connectMailbox(rt, fake, { app: b.app, user: b.user, mailbox: { name: b.name, serviceDeskProjectId: project.id } })
    await imap.append(b.user, 'INBOX', makeEmail(1, { to: b.user, subject: `Hello from ${b.name}` }))
    await pollUntilHandled(rt, b.name, 1)
    t.match(await view(rt, b.name), {
      provider: 'imap', imap: { host: imap.host, port: imap.port, user: b.user, auth: { oauthApp: b.app } },
      health: { state: 'ok' }, connection: { app: b.app, account: b.user, state: 'connected' }
    })
  }
  t.same((await project.issues()).map(i => i.title).sort(), ['Hello from alice', 'Hello from carol'])
  t.same(await imap.seen(alice.upn, 'INBOX'), [1], 'marked seen after it was stored')
  const loggedIn = (user: string): boolean => fake.introspections.some(i => i.active && i.account === user)
  t.ok(loggedIn(alice.upn) && loggedIn(carol.email), 'both logged in with their tokens')

  // tokens expire: the next logins come after a refresh, never with an expired token
  fake.tokenLifetimeSeconds = 4
  for (const b of boxes) {
    await rt.ctx.pool.query("UPDATE oauth_connections SET access_expires_at = now() - interval '1 second'")
    await imap.append(b.user, 'INBOX', makeEmail(2, { to: b.user }))
    await pollUntilHandled(rt, b.name, 2)
  }
  await new Promise(resolve => setTimeout(resolve, 4500))
  for (const b of boxes) {
    await imap.append(b.user, 'INBOX', makeEmail(3, { to: b.user }))
    await pollUntilHandled(rt, b.name, 3)
  }
  const refreshes = fake.tokenRequests.filter(r => r.grantType === 'refresh_token')
  t.same(refreshes.map(r => r.provider).sort(), ['google', 'google', 'microsoft', 'microsoft'], 'two refreshes each')
  t.ok(refreshes.every(r => r.status === 200 && r.refreshTokenState === 'active'), 'no spent refresh token presented')
  t.equal(new Set(refreshes.filter(r => r.provider === 'google').map(r => r.refreshToken)).size, 1, 'Google answers without one: its refresh token kept')
  t.same(fake.introspections.filter(i => !i.active), [], 'no login with an expired or unknown token')

  // carol revokes: her mailbox stops, alice's goes on
  fake.revokeGrants(carol.email)
  await imap.append(carol.email, 'INBOX', makeEmail(4, { to: carol.email }))
  await rt.api('POST', '/api/v1/mailboxes/carol/poll')
  await waitFor(async () => (await view(rt, 'carol')).connection.state === 'reauth_required', 'carol reauth_required')
  t.match(await view(rt, 'carol'), { health: { state: 'reauth_required', lastError: /invalid_grant/ } })
  // alice's tokens (Microsoft) live 4 s: hers are refreshed meanwhile, carol's (Google) must not be
  const googleTokenRequests = (): number => fake.tokenRequests.filter(r => r.provider === 'google').length
  const tokenRequests = googleTokenRequests()
  const carolLogins = (): number => fake.introspections.filter(i => i.account === carol.email).length
  const logins = carolLogins()
  await rt.api('POST', '/api/v1/mailboxes/carol/poll')
  await imap.append(alice.upn, 'INBOX', makeEmail(5, { to: alice.upn }))
  await pollUntilHandled(rt, 'alice', 4)
  t.equal(googleTokenRequests(), tokenRequests, 'no token request for carol')
  t.equal(carolLogins(), logins, 'no IMAP login for carol')
  t.equal(await finishedCount(rt, 'carol'), 3, 'her new email waits in her mailbox')

  await connectMailbox(rt, fake, { app: 'gmail', user: carol.email, mailbox: 'carol' })
  await waitFor(async () => (await finishedCount(rt, 'carol')) === 4, 'carol resumed', 30_000)
  t.equal((await project.issues()).length, 8, 'one Service Desk issue per email, none twice')
  await assertNoTokensShown(t, rt, fake)
})
