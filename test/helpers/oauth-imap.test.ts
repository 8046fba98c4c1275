// XOAUTH2 logins to the private Dovecot with access tokens of the fake
// identity platform: granted user only, IMAP scope only, never after expiry
// or revocation.
import t from 'tap'
import { ImapFlow } from 'imapflow'
import { startOAuthImap } from './oauth-imap.ts'

t.setTimeout(90_000)
const { fake, imap, stop } = await startOAuthImap()
t.teardown(() => stop())
const alice = fake.addMailbox('alice@contoso.example')
const carol = fake.google.addUser('carol@customer.example')
const IMAP_SCOPE = 'openid email offline_access https://outlook.office.com/IMAP.AccessAsUser.All'
const raw = (subject: string) => `Message-ID: <${subject.replace(/\W/g, '')}@example.com>\r\nSubject: ${subject}\r\n\r\nbody\r\n`

/** Logs in with XOAUTH2; the subjects in INBOX, or the refusal. */
async function login (user: string, accessToken: string): Promise<string[] | 'refused'> {
  const c = new ImapFlow(imap.clientOptions({ user, accessToken }, { imap: { disableAutoIdle: true } }))
  c.on('error', () => { /* surfaced by connect */ })
  try {
    await c.connect()
  } catch (err) {
    if ((err as { authenticationFailed?: boolean }).authenticationFailed) return 'refused'
    throw err
  }
  try {
    await c.mailboxOpen('INBOX')
    return (await c.fetchAll('1:*', { envelope: true })).map((m) => m.envelope?.subject ?? '')
  } finally {
    await c.logout()
  }
}

t.test('Microsoft IMAP and Google mail tokens log in as the user who granted them', async (t) => {
  await imap.append(alice.upn, 'INBOX', raw('for alice'))
  await imap.append(carol.email, 'INBOX', raw('for carol'))
  const microsoft = fake.issueTokens({ user: alice.upn, scope: IMAP_SCOPE })
  const google = fake.google.issueTokens({ user: carol.email })
  t.same(await login(alice.upn, microsoft.access_token), ['for alice'])
  t.same(await login(carol.email, google.access_token), ['for carol'])
  t.equal(await login(carol.email, microsoft.access_token), 'refused', "alice's token does not open carol's mailbox")
  t.equal(await login(alice.upn, fake.issueTokens({ user: alice.upn }).access_token), 'refused', 'a Graph token is no IMAP token')
  t.equal(await login(alice.upn, 'garbage'), 'refused')
  t.match(fake.introspections.filter((i) => i.active), [{ account: alice.upn }, { account: carol.email }])
})

t.test('an expired token is refused; the refreshed one works', async (t) => {
  fake.tokenLifetimeSeconds = 1
  t.teardown(() => { fake.tokenLifetimeSeconds = 3599 })
  const tokens = fake.google.issueTokens({ user: carol.email })
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal(await login(carol.email, tokens.access_token), 'refused')
  t.match(fake.introspections.at(-1), { active: false, reason: 'expired', account: carol.email })
  fake.tokenLifetimeSeconds = 3599
  const res = await fetch(`${fake.google.issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: fake.google.clientId, client_secret: fake.google.clientSecret }),
  })
  const refreshed = await res.json() as { access_token: string }
  t.same(await login(carol.email, refreshed.access_token), ['for carol'])
})

t.test('revokeGrants: the next login is refused, for both providers', async (t) => {
  const microsoft = fake.issueTokens({ user: alice.upn, scope: IMAP_SCOPE })
  const google = fake.google.issueTokens({ user: carol.email })
  t.same(await login(alice.upn, microsoft.access_token), ['for alice'])
  fake.revokeGrants(alice.upn)
  fake.revokeGrants(carol.email)
  t.equal(await login(alice.upn, microsoft.access_token), 'refused')
  t.equal(await login(carol.email, google.access_token), 'refused')
  t.match(fake.introspections.at(-1), { active: false, reason: 'revoked' })
  t.same(await login(alice.upn, fake.issueTokens({ user: alice.upn, scope: IMAP_SCOPE }).access_token), ['for alice'], 'a new grant works')
})
