/**
 * Access-token logins (XOAUTH2/OAUTHBEARER) against a real Dovecot whose
 * oauth2 passdb asks a local introspection endpoint about each token.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { makeEmail } from '../../helpers/emails.ts'
import { startDovecot } from '../../helpers/dovecot.ts'
import { startIntrospection } from '../../helpers/dovecot-oauth.ts'
import { startTestRuntime } from '../../helpers/runtime.ts'
import { waitFor } from '../../helpers/wait.ts'
import { finishedCount } from '../../helpers/rows.ts'

const introspection = await startIntrospection()
t.teardown(async () => await introspection.close())
const imap = await startDovecot({ oauth2IntrospectionUrl: introspection.url })
t.teardown(async () => await imap.stop())
const rt = await startTestRuntime(t)

function tokenMailbox (name: string, user: string, accessToken: string): Record<string, unknown> {
  return {
    name,
    provider: 'imap',
    imap: { host: imap.host, port: imap.port, tls: 'none', user, auth: { accessToken }, connectTimeoutSeconds: 5 },
    address: 'incoming+%{key}@example.com',
    delivery: { kind: 'builtin' }
  }
}

t.test('a good access token logs in and its mail is ingested', async t => {
  const { user } = imap.addUser()
  const token = `good-${randomBytes(12).toString('hex')}`
  introspection.tokens.set(token, user)
  await imap.appendMany(user, 'INBOX', Array.from({ length: 4 }, (_, i) => makeEmail(i)))
  t.equal((await rt.api('POST', '/api/v1/mailboxes', tokenMailbox('oauth-good', user, token))).status, 201)
  await waitFor(async () => (await finishedCount(rt, 'oauth-good')) === 4, '4 emails ingested')
  const view = (await rt.api('GET', '/api/v1/mailboxes/oauth-good')).body
  t.equal(view.health.state, 'ok')
  t.ok(introspection.requests > 0, 'Dovecot checked the token with the introspection endpoint')
  t.notMatch(JSON.stringify(view), token, 'the token is not shown')
  t.ok(await waitFor(async () => [...(await imap.flags(user, 'INBOX')).values()].every(f => f.includes('\\Seen')), 'marked processed', 10_000), 'marked processed')
})

t.test('a bad access token: auth_failed, not logged', async t => {
  const { user } = imap.addUser()
  const token = `bad-${randomBytes(12).toString('hex')}`
  await imap.appendMany(user, 'INBOX', [makeEmail(1)])
  await rt.api('POST', '/api/v1/mailboxes', tokenMailbox('oauth-bad', user, token))
  const health = await waitFor(async () => {
    const h = (await rt.api('GET', '/api/v1/mailboxes/oauth-bad')).body.health
    return h.state === 'auth_failed' ? h : undefined
  }, 'auth_failed')
  t.match(health.lastError, /login failed/i)
  t.notMatch(health.lastError, token)
  t.notMatch(rt.logs(), token, 'the token is not logged')
  t.equal(await finishedCount(rt, 'oauth-bad'), 0, 'nothing ingested')
})
