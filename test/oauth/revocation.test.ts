// A customer revokes consent: the connected mailbox turns reauth_required
// (health and connection, one mailbox.health_changed event naming it),
// nothing more is asked of the identity platform or Graph for it while the
// other mailboxes keep going, and a reconnect resumes it where it stopped:
// no email lost, none twice.
import t from 'tap'
import { makeEmail } from '../helpers/emails.ts'
import { waitFor } from '../helpers/wait.ts'
import { graphFixture, handledOnce, view } from '../helpers/graph-fixture.ts'
import { countRows, finishedCount } from '../helpers/rows.ts'
import { assertNoTokensShown, connectMailbox, serviceDeskProject } from '../helpers/oauth.ts'
import { microsoftGraphApp } from '../helpers/oauth-apps.ts'
import type { TestRuntime } from '../helpers/runtime.ts'
import { startEventsEndpoint } from '../events/fixture.ts'

async function pollUntilHandled (rt: TestRuntime, name: string, n: number): Promise<void> {
  await rt.api('POST', `/api/v1/mailboxes/${name}/poll`)
  await waitFor(async () => (await finishedCount(rt, name)) === n, `${n} handled in ${name}`, 30_000)
}

t.test('revoked consent → reauth_required, that mailbox alone stops; a reconnect resumes it without duplicates', async t => {
  const endpoint = await startEventsEndpoint(t)
  const { fake, rt } = await graphFixture(t, { env: endpoint.env })
  const aliceEvents = (): unknown[] => endpoint.events().filter(e => e.type === 'mailbox.health_changed' && e.data.mailbox === 'alice').map(e => e.data)
  const alice = fake.addMailbox('alice@contoso.example')
  const carol = fake.addMailbox('carol@contoso.example')
  await rt.api('POST', '/api/v1/oauth-apps', microsoftGraphApp(fake))
  const project = await serviceDeskProject(rt)
  for (const [name, box] of [['alice', alice], ['carol', carol]] as const) {
    await connectMailbox(rt, fake, { app: 'm365', user: box.upn, mailbox: { name, serviceDeskProjectId: project.id } })
    box.addMessage('Inbox', makeEmail(1, { to: box.upn }))
    await pollUntilHandled(rt, name, 1)
  }

  fake.revokeGrants(alice.upn)
  alice.addMessage('Inbox', makeEmail(2, { to: alice.upn, subject: 'written while revoked' }))
  await rt.api('POST', '/api/v1/mailboxes/alice/poll')
  const stopped = await waitFor(async () => { const v = await view(rt, 'alice'); return v.health.state === 'reauth_required' && v }, 'reauth_required')
  t.match(stopped, {
    health: { state: 'reauth_required', lastError: /alice@contoso\.example.*invalid_grant.*reconnect the mailbox/ },
    connection: { app: 'm365', account: alice.upn, state: 'reauth_required' }
  })
  t.equal(await countRows(rt, "SELECT count(*)::int AS n FROM mailboxes WHERE name = 'alice' AND next_poll_at = 'infinity'"), 1, 'no scheduled poll')
  t.match(fake.tokenRequests.filter(r => r.grantType === 'refresh_token'), [{ error: 'invalid_grant' }], 'one refused refresh')

  // manual polls of alice do nothing at the provider; carol keeps going
  const tokenRequests = fake.tokenRequests.length
  const aliceCalls = (): number => fake.requests.filter(r => r.mailbox === alice.id).length
  const calls = aliceCalls()
  for (let i = 2; i <= 4; i++) {
    await rt.api('POST', '/api/v1/mailboxes/alice/poll')
    carol.addMessage('Inbox', makeEmail(i, { to: carol.upn }))
    await pollUntilHandled(rt, 'carol', i)
  }
  await waitFor(async () => await countRows(rt, `SELECT count(*)::int AS n FROM mailslot_boss.job
    WHERE name = 'mailbox-sync' AND state IN ('created', 'retry', 'active')`) === 0, 'every sync ran')
  t.equal(fake.tokenRequests.length, tokenRequests, 'no token request')
  t.equal(aliceCalls(), calls, 'no Graph request for alice')
  t.match(await view(rt, 'alice'), { health: { state: 'reauth_required', lastError: stopped.health.lastError } }, 'the same reason after each poll')
  t.equal((await view(rt, 'carol')).health.state, 'ok')
  t.equal(await finishedCount(rt, 'alice'), 1, 'the email written while revoked waits')

  // a reconnect: same mailbox, same cursor, polled at once
  await connectMailbox(rt, fake, { app: 'm365', user: alice.upn, mailbox: 'alice' })
  await waitFor(async () => (await finishedCount(rt, 'alice')) === 2, 'the waiting email handled', 30_000)
  t.match(await view(rt, 'alice'), { health: { state: 'ok' }, connection: { state: 'connected' } })
  alice.addMessage('Inbox', makeEmail(5, { to: alice.upn }))
  await pollUntilHandled(rt, 'alice', 3)
  await handledOnce(t, rt, 'alice', 3)
  await handledOnce(t, rt, 'carol', 4)
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM oauth_connections'), 2, 'one connection per mailbox')
  t.equal((await project.issues()).length, 7, 'one Service Desk issue per email')
  await waitFor(async () => aliceEvents().length === 4, 'alice\'s events')
  t.match(aliceEvents(), [
    { from: null, to: 'pending' },
    { from: 'pending', to: 'ok' },
    { from: 'ok', to: 'reauth_required', error: /alice@contoso\.example.*invalid_grant.*reconnect/ },
    { from: 'reauth_required', to: 'ok', error: null }
  ], 'one event each way, naming the mailbox; none for the polls while it waited')
  await assertNoTokensShown(t, rt, fake)
})

t.test('Graph refusing a token that was just refreshed → reauth_required too', async t => {
  const { fake, rt } = await graphFixture(t)
  const dave = fake.addMailbox('dave@contoso.example')
  await rt.api('POST', '/api/v1/oauth-apps', microsoftGraphApp(fake))
  await connectMailbox(rt, fake, { app: 'm365', user: dave.upn, mailbox: { name: 'dave', address: 'incoming+%{key}@example.com' } })
  await waitFor(async () => (await view(rt, 'dave')).health.state === 'ok', 'first sync')
  // from now on Graph refuses every token of dave's, fresh ones too (e.g. a conditional access policy)
  fake.faults.inject({ status: 401, code: 'InvalidAuthenticationToken', message: 'Access token validation failure.', times: 100, path: 'dave' })
  const before = fake.tokenRequests.length
  await rt.api('POST', '/api/v1/mailboxes/dave/poll')
  const v = await waitFor(async () => { const v = await view(rt, 'dave'); return v.health.state === 'reauth_required' && v }, 'reauth_required')
  t.match(v, {
    health: { lastError: /a token just refreshed was refused \(Graph refused access \(401 InvalidAuthenticationToken\): Access token validation failure\.\): reconnect/ },
    connection: { state: 'reauth_required' }
  })
  t.match(fake.tokenRequests.slice(before), [{ grantType: 'refresh_token', status: 200 }], 'one refresh, then no more')
})
