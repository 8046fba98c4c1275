// A customer's Microsoft 365 mailbox connected through an OAuth app with
// access graph: the real Graph SDK with the delegated token against the
// fake; a webhook subscription like any Graph mailbox; access tokens
// refreshed ahead of expiry over several lifetimes, rotated refresh tokens
// stored at once and never sent again.
import t from 'tap'
import { makeEmail } from '../helpers/emails.ts'
import { waitFor } from '../helpers/wait.ts'
import { graphFixture, handledOnce, view } from '../helpers/graph-fixture.ts'
import { finishedCount } from '../helpers/rows.ts'
import { assertNoTokensShown, connectMailbox, serviceDeskProject } from '../helpers/oauth.ts'
import { microsoftGraphApp } from '../helpers/oauth-apps.ts'

t.test('webhook mode: the subscription is made with the delegated token; a new email becomes a Service Desk issue', async t => {
  const { fake, rt } = await graphFixture(t, { webhook: true })
  const alice = fake.addMailbox('alice@contoso.example')
  t.equal((await rt.api('POST', '/api/v1/oauth-apps', microsoftGraphApp(fake))).status, 201)
  const project = await serviceDeskProject(rt)
  await connectMailbox(rt, fake, { app: 'm365', user: alice.upn, mailbox: { name: 'alice', serviceDeskProjectId: project.id } })

  const shown = await view(rt, 'alice')
  t.match(shown, { provider: 'graph', graph: { oauthApp: 'm365', user: alice.upn }, connection: { app: 'm365', account: alice.upn, state: 'connected' } })
  t.equal(shown.graph.clientSecret, undefined)
  await waitFor(async () => (await view(rt, 'alice')).subscription?.state === 'active', 'subscription active')
  const [sub] = fake.subscriptions()
  t.equal(sub.resource, `users/${alice.upn}/mailFolders('Inbox')/messages`)

  alice.addMessage('Inbox', makeEmail(1, { to: alice.upn, subject: 'My printer is on fire' }))
  await waitFor(async () => (await project.issues()).length === 1, 'Service Desk issue', 30_000)
  t.match(await project.issues(), [{ title: 'My printer is on fire', serviceDesk: true }])
  await handledOnce(t, rt, 'alice', 1)
  t.equal((await view(rt, 'alice')).health.state, 'ok')
  const graphCalls = fake.requests.filter(r => r.path.startsWith('/v1.0/'))
  t.ok(graphCalls.length > 0 && graphCalls.every(r => r.status !== 401), 'every Graph request had a token Graph took')
  await assertNoTokensShown(t, rt, fake)
})

t.test('refresh over several token lifetimes: mail keeps coming, no token used past its expiry, no rotated refresh token sent again', async t => {
  t.setTimeout(180_000)
  const LIFETIME = 6
  const { fake, rt } = await graphFixture(t, { fake: { tokenLifetimeSeconds: LIFETIME } })
  const alice = fake.addMailbox('alice@contoso.example')
  await rt.api('POST', '/api/v1/oauth-apps', microsoftGraphApp(fake))
  const project = await serviceDeskProject(rt)
  await connectMailbox(rt, fake, { app: 'm365', user: alice.upn, mailbox: { name: 'alice', serviceDeskProjectId: project.id } })

  // one email and one sync (the schedule syncs a mailbox once a minute at most) every 0.8 lifetimes
  const EMAILS = 6
  for (let i = 1; i <= EMAILS; i++) {
    alice.addMessage('Inbox', makeEmail(i, { to: alice.upn }))
    t.equal((await rt.api('POST', '/api/v1/mailboxes/alice/poll')).status, 202)
    await waitFor(async () => (await finishedCount(rt, 'alice')) === i, `email ${i} handled`, 30_000)
    await new Promise(resolve => setTimeout(resolve, LIFETIME * 800))
  }
  await handledOnce(t, rt, 'alice', EMAILS)

  const refreshes = fake.tokenRequests.filter(r => r.grantType === 'refresh_token')
  t.ok(refreshes.length >= 3, `refreshed ${refreshes.length} times`)
  t.ok(refreshes.every(r => r.status === 200), 'every refresh succeeded')
  t.same(refreshes.filter(r => r.refreshTokenState !== 'active'), [], 'only the newest refresh token was ever presented')
  t.equal(new Set(refreshes.map(r => r.refreshToken)).size, refreshes.length, 'each refresh token presented once')
  const graphCalls = fake.requests.filter(r => r.path.startsWith('/v1.0/'))
  t.same(graphCalls.filter(r => r.status === 401), [], 'no request with an expired token')
  t.match(await view(rt, 'alice'), { health: { state: 'ok' }, connection: { state: 'connected' } })
  await assertNoTokensShown(t, rt, fake)
})
