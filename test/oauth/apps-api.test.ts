// /api/v1/oauth-apps: strict validation naming the field, defaults per kind,
// a write-only client secret (sealed at rest, in no answer or log), 409s;
// mailboxes naming an OAuth app come from the connect flow only; `secrets
// rotate` re-encrypts app secrets and connection tokens.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { startFakeGraph } from '../fakes/graph/index.ts'
import { startTestRuntime } from '../helpers/runtime.ts'
import { connectMailbox, storedTokens } from '../helpers/oauth.ts'
import { microsoftGraphApp } from '../helpers/oauth-apps.ts'
import { Keyring } from '../../src/shared/crypto.ts'
import { getApp, resealAppSecrets } from '../../src/oauth/apps/repository.ts'
import { resealConnectionTokens } from '../../src/oauth/connections/repository.ts'

const SECRET = 'app-secret-' + randomBytes(12).toString('hex')

t.test('OAuth apps API', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })

  t.test('created with the defaults of its kind; the secret never comes back', async t => {
    const m365 = await rt.api('POST', '/api/v1/oauth-apps', { name: 'm365', kind: 'microsoft', clientId: 'c1', clientSecret: SECRET })
    t.equal(m365.status, 201, 'created')
    t.match(m365.body, {
      name: 'm365', kind: 'microsoft', access: 'graph', clientId: 'c1', tenant: 'organizations',
      authorityHost: 'https://login.microsoftonline.com', graphBaseUrl: 'https://graph.microsoft.com', createdAt: String
    })
    t.equal(m365.body.clientSecret, undefined)
    const imap = await rt.api('POST', '/api/v1/oauth-apps', { name: 'm365-imap', kind: 'microsoft', access: 'imap', clientId: 'c2', clientSecret: SECRET })
    t.match(imap.body, { access: 'imap', imap: { host: 'outlook.office365.com', port: 993, tls: 'implicit' } })
    t.equal(imap.body.graphBaseUrl, undefined)
    const gmail = await rt.api('POST', '/api/v1/oauth-apps', { name: 'gmail', kind: 'google', clientId: 'c3', clientSecret: SECRET })
    t.match(gmail.body, { kind: 'google', access: 'imap', issuer: 'https://accounts.google.com', imap: { host: 'imap.gmail.com', port: 993, tls: 'implicit' } })
    const cloud = await rt.api('POST', '/api/v1/oauth-apps', {
      name: 'gcc', kind: 'microsoft', clientId: 'c4', clientSecret: SECRET, tenant: 'contoso.onmicrosoft.us',
      authorityHost: 'https://login.microsoftonline.us/', graphBaseUrl: 'https://graph.microsoft.us'
    })
    t.match(cloud.body, { authorityHost: 'https://login.microsoftonline.us', graphBaseUrl: 'https://graph.microsoft.us', tenant: 'contoso.onmicrosoft.us' })

    const list = await rt.api('GET', '/api/v1/oauth-apps')
    t.same(list.body.items.map((a: { name: string }) => a.name), ['gcc', 'gmail', 'm365', 'm365-imap'])
    t.equal((await rt.api('GET', '/api/v1/oauth-apps/gmail')).body.clientId, 'c3')
    t.equal((await rt.api('GET', '/api/v1/oauth-apps/nope')).status, 404)
    for (const res of [m365, imap, gmail, cloud, list]) t.notMatch(res.text, SECRET)

    const { rows } = await rt.ctx.pool.query<{ config: string, secrets: Buffer }>('SELECT config::text AS config, secrets FROM oauth_apps')
    t.ok(rows.every(r => !r.config.includes(SECRET) && !r.secrets.includes(Buffer.from(SECRET))), 'only ciphertext at rest')
    t.equal((await getApp(rt.ctx.pool, rt.ctx.keyring, 'm365'))?.clientSecret, SECRET, 'the protocol code reads it')
    t.notMatch(rt.logs(), SECRET, 'not logged')

    const dup = await rt.api('POST', '/api/v1/oauth-apps', { name: 'm365', kind: 'google', clientId: 'x', clientSecret: 'y' })
    t.equal(dup.status, 409)
    t.equal(dup.body.error.code, 'oauth_app_exists')
  })

  t.test('400 invalid_<field>', async t => {
    const base = { name: 'bad', kind: 'microsoft', clientId: 'c', clientSecret: 's' }
    const cases: Array<[Record<string, unknown>, string, RegExp?]> = [
      [{ ...base, clientSecret: undefined }, 'invalid_clientSecret', /is required/],
      [{ ...base, kind: 'yahoo' }, 'invalid_kind', /must be one of "microsoft", "google"/],
      [{ ...base, name: 'no spaces' }, 'invalid_name'],
      [{ ...base, colour: 'blue' }, 'invalid_colour', /not a known setting/],
      [{ ...base, authorityHost: 'http://login.example' }, 'invalid_authorityHost'],
      [{ ...base, imap: { host: 'h' } }, 'invalid_imap', /IMAP access only/],
      [{ ...base, access: 'imap', imap: { host: 'h', port: 0 } }, 'invalid_imap.port'],
      [{ ...base, issuer: 'https://accounts.google.com' }, 'invalid_issuer', /Google apps only/],
      [{ ...base, access: 'imap', graphBaseUrl: 'https://graph.microsoft.com' }, 'invalid_graphBaseUrl', /access graph only/],
      [{ ...base, kind: 'google', tenant: 'organizations' }, 'invalid_tenant', /Microsoft apps only/],
      [{ ...base, kind: 'google', access: 'graph' }, 'invalid_access', /must be "imap" for Google/],
      [{ ...base, clientSecret: { file: '/etc/hostname' } }, 'invalid_clientSecret', /secret references/]
    ]
    for (const [body, code, message] of cases) {
      const res = await rt.api('POST', '/api/v1/oauth-apps', body)
      t.equal(res.status, 400, code)
      t.equal(res.body.error.code, code)
      if (message !== undefined) t.match(res.body.error.message, message)
    }
    t.equal((await rt.api('GET', '/api/v1/oauth-apps/bad')).status, 404, 'nothing stored')
  })

  t.test('mailboxes that name an OAuth app are made by the connect flow only', async t => {
    const imap = { name: 'x', provider: 'imap', imap: { host: 'h', user: 'u@example.com', auth: { oauthApp: 'gmail' } } }
    const graph = { name: 'y', provider: 'graph', graph: { oauthApp: 'm365', user: 'u@example.com' } }
    for (const [body, field] of [[imap, 'imap.auth.oauthApp'], [graph, 'graph.oauthApp']] as const) {
      const res = await rt.api('POST', '/api/v1/mailboxes', body)
      t.equal(res.status, 400)
      t.equal(res.body.error.code, `invalid_${field}`)
      t.match(res.body.error.message, /connect link/)
    }
    const appOnly = await rt.api('POST', '/api/v1/mailboxes', { name: 'z', provider: 'graph', graph: { user: 'u@example.com', clientId: 'c', clientSecret: 's' } })
    t.equal(appOnly.body.error.code, 'invalid_graph.tenantId', 'app-only Graph mailboxes still need their credentials')
  })
})

t.test('an app in use cannot be deleted; secrets rotate re-encrypts app secrets and tokens', async t => {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  const rt = await startTestRuntime(t, { role: 'web' })
  const alice = fake.addMailbox('alice@contoso.example')
  await rt.api('POST', '/api/v1/oauth-apps', microsoftGraphApp(fake))
  await connectMailbox(rt, fake, { app: 'm365', user: alice.upn, mailbox: { name: 'alice', address: 'incoming+%{key}@example.com' } })

  const inUse = await rt.api('DELETE', '/api/v1/oauth-apps/m365')
  t.equal(inUse.status, 409)
  t.equal(inUse.body.error.code, 'oauth_app_in_use')
  t.match(inUse.body.error.message, /alice/)
  t.equal((await rt.api('DELETE', '/api/v1/oauth-apps/nope')).status, 404)

  const newKey = randomBytes(32)
  const rotated = new Keyring([newKey, ...rt.ctx.keyring.keys])
  t.match(await resealAppSecrets(rt.ctx.pool, rotated), { name: 'oauth_apps.secrets', rotated: 1, undecryptable: [] })
  t.match(await resealConnectionTokens(rt.ctx.pool, rotated), { name: 'oauth_connections.tokens', rotated: 1, undecryptable: [] })
  const onlyNew = new Keyring([newKey])
  t.equal((await getApp(rt.ctx.pool, onlyNew, 'm365'))?.clientSecret, fake.clientSecret, 'the app secret opens with the new key alone')
  t.equal((await storedTokens(rt.ctx.pool, onlyNew)).length, 2, 'so do the tokens')

  t.equal((await rt.api('DELETE', '/api/v1/mailboxes/alice')).status, 204)
  t.equal((await rt.api('DELETE', '/api/v1/oauth-apps/m365')).status, 204, 'deleted once no mailbox uses it')
  t.equal((await rt.api('GET', '/api/v1/oauth-apps/m365')).status, 404)
})
