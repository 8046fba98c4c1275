// Two processes (two connection pools: two sets of PostgreSQL sessions) and
// several workers in each want the access token of one connection at the
// same moment, just after it expired: one refresh request reaches the
// identity platform, everyone gets the token it returned, and the rotated
// refresh token is never presented again.
import t from 'tap'
import { startFakeGraph } from '../fakes/graph/index.ts'
import { startTestRuntime } from '../helpers/runtime.ts'
import { connectMailbox } from '../helpers/oauth.ts'
import { microsoftGraphApp } from '../helpers/oauth-apps.ts'
import { createPool } from '../../src/db/pool.ts'
import { connectionTokens } from '../../src/oauth/connections/access-tokens.ts'
import { ReauthRequiredError } from '../../src/providers/types.ts'

t.test('a token wanted by 2 processes × 4 workers at once: one refresh, one token for all', async t => {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  // no workers: nothing but this test asks for tokens
  const rt = await startTestRuntime(t, { role: 'web' })
  const alice = fake.addMailbox('alice@contoso.example')
  await rt.api('POST', '/api/v1/oauth-apps', microsoftGraphApp(fake))
  const { id } = await connectMailbox(rt, fake, { app: 'm365', user: alice.upn, mailbox: { name: 'alice', address: 'incoming+%{key}@example.com' } })
  const processes = [createPool(rt.databaseUrl, 4), createPool(rt.databaseUrl, 4)]
  t.teardown(async () => { for (const pool of processes) await pool.end() })

  for (let round = 1; round <= 3; round++) {
    await rt.ctx.pool.query("UPDATE oauth_connections SET access_expires_at = now() - interval '1 second'")
    const before = fake.tokenRequests.length
    const workers = Array.from({ length: 8 }, (_, i) => connectionTokens({ ...rt.ctx, pool: processes[i % 2] }, id))
    const got = await Promise.all(workers.map(async w => await w.current()))
    const requests = fake.tokenRequests.slice(before)
    t.equal(requests.length, 1, `round ${round}: one token request`)
    t.match(requests[0], { grantType: 'refresh_token', status: 200, refreshTokenState: 'active' })
    t.equal(new Set(got.map(g => g.token)).size, 1, `round ${round}: every worker has the same token`)
    t.equal(got.filter(g => g.refreshed).length, 1, `round ${round}: refreshed by one of them`)
  }
  const refreshes = fake.tokenRequests.filter(r => r.grantType === 'refresh_token')
  t.equal(new Set(refreshes.map(r => r.refreshToken)).size, 3, 'each refresh presented the refresh token the one before returned')
  t.same(fake.tokenRequests.filter(r => r.refreshTokenState === 'rotated'), [], 'a rotated refresh token was never presented')

  // a token still good for a while is handed out as it is
  const before = fake.tokenRequests.length
  await connectionTokens(rt.ctx, id).current()
  t.equal(fake.tokenRequests.length, before, 'no request for a valid token')

  // revoked: one invalid_grant, then nothing more is asked of the provider
  fake.revokeGrants(alice.upn)
  await rt.ctx.pool.query("UPDATE oauth_connections SET access_expires_at = now() - interval '1 second'")
  const settled = await Promise.allSettled(processes.map(async pool =>
    await connectionTokens({ ...rt.ctx, pool }, id).current()))
  t.ok(settled.every(s => s.status === 'rejected' && s.reason instanceof ReauthRequiredError), 'both get ReauthRequiredError')
  t.match(fake.tokenRequests.slice(before), [{ grantType: 'refresh_token', error: 'invalid_grant' }], 'one refused refresh')
  t.equal(fake.tokenRequests.length, before + 1)
  await t.rejects(connectionTokens(rt.ctx, id).current(), ReauthRequiredError)
  t.equal(fake.tokenRequests.length, before + 1, 'no request once the grant is known gone')
  const shown = (await rt.api('GET', '/api/v1/mailboxes/alice')).body
  t.match(shown, { health: { state: 'reauth_required', lastError: /alice@contoso\.example.*invalid_grant.*reconnect/ }, connection: { state: 'reauth_required' } })
})
