// oauthApps in MAILSLOT_CONFIG: created and updated at each start (client
// secret by value, {file} or {env}), removed once no longer declared unless a
// mailbox is connected through it; apps made through the API never touched.
import t from 'tap'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { startTestRuntime } from '../helpers/runtime.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { getApp } from '../../src/oauth/apps/repository.ts'
import { saveConnection } from '../../src/oauth/connections/repository.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { connectedMailboxSpec } from '../../src/oauth/connections/mailbox-spec.ts'

const FILE_SECRET = 'secret-from-a-file-0001'
const ENV_SECRET = 'secret-from-the-environment-0002'

t.test('declared OAuth apps: create, update, remove; secret references; API apps untouched; apps in use kept', async t => {
  const dir = t.testdir({ 'gmail-secret': `${FILE_SECRET}\n` })
  const file = path.join(dir, 'mailslot.yml')
  process.env.MAILSLOT_TEST_M365_SECRET = ENV_SECRET
  t.teardown(() => { delete process.env.MAILSLOT_TEST_M365_SECRET })
  await writeFile(file, [
    'oauthApps:',
    '  - { name: m365, kind: microsoft, clientId: m-1, clientSecret: { env: MAILSLOT_TEST_M365_SECRET } }',
    '  - { name: gmail, kind: google, clientId: g-1, clientSecret: { file: gmail-secret } }',
    '  - { name: spare, kind: microsoft, access: imap, clientId: s-1, clientSecret: plain-value }'
  ].join('\n'))
  const databaseUrl = await createTestDatabase(t)
  const first = await startTestRuntime(t, { role: 'web', databaseUrl, env: { MAILSLOT_CONFIG: file } })
  // later starts share the first one's key, as one installation's processes do
  const env = { MAILSLOT_CONFIG: file, MAILSLOT_ENCRYPTION_KEY: first.env.MAILSLOT_ENCRYPTION_KEY }
  const names = async (rt: typeof first): Promise<string[]> => (await rt.api('GET', '/api/v1/oauth-apps')).body.items.map((a: { name: string }) => a.name)
  t.same(await names(first), ['gmail', 'm365', 'spare'])
  t.match((await first.api('GET', '/api/v1/oauth-apps/gmail')).body, { kind: 'google', issuer: 'https://accounts.google.com', clientId: 'g-1' })
  t.equal((await getApp(first.ctx.pool, first.ctx.keyring, 'gmail'))?.clientSecret, FILE_SECRET, 'read from the file, trailing newline off')
  t.equal((await getApp(first.ctx.pool, first.ctx.keyring, 'm365'))?.clientSecret, ENV_SECRET, 'read from the environment')
  t.notMatch(first.logs(), new RegExp(`${FILE_SECRET}|${ENV_SECRET}|plain-value`), 'no secret logged')

  // made through the API: never the file's
  t.equal((await first.api('POST', '/api/v1/oauth-apps', { name: 'api-made', kind: 'google', clientId: 'a-1', clientSecret: 'a' })).status, 201)
  // spare gets a connected mailbox: the file cannot take it away from under it
  const spare = (await getApp(first.ctx.pool, first.ctx.keyring, 'spare'))!
  const mailbox = await createMailbox(first.ctx, first.ctx.pool, connectedMailboxSpec(spare, 'kim@example.com', { name: 'kim' }))
  await saveConnection(first.ctx.pool, first.ctx.keyring, {
    mailboxId: mailbox.id, appId: spare.id, account: { account: 'kim@example.com', subject: 'kim', tenantId: null },
    tokens: { accessToken: 'a', refreshToken: 'r', expiresAt: new Date(Date.now() + 3600_000) }
  })

  await writeFile(file, 'oauthApps:\n  - { name: m365, kind: microsoft, clientId: m-2, clientSecret: { env: MAILSLOT_TEST_M365_SECRET }, tenant: contoso.example }\n')
  const second = await startTestRuntime(t, { role: 'web', databaseUrl, env })
  t.same(await names(second), ['api-made', 'm365', 'spare'], 'gmail removed; spare kept while kim uses it; api-made untouched')
  t.match((await second.api('GET', '/api/v1/oauth-apps/m365')).body, { clientId: 'm-2', tenant: 'contoso.example' }, 'updated in place')
  t.match(second.logs(), /OAuth apps no longer declared in the configuration file are kept while mailboxes are connected through them/)
  t.match(second.logs(), /"oauthApps":\["spare"\]/)

  // the access of an app in use cannot change under its mailboxes: start-up stops, naming the entry
  await writeFile(file, 'oauthApps:\n  - { name: spare, kind: microsoft, access: graph, clientId: s-1, clientSecret: plain-value }\n')
  await t.rejects(startTestRuntime(t, { role: 'web', databaseUrl, env }),
    /MAILSLOT_CONFIG: .*mailslot\.yml: oauthApps\[0\] "spare": the OAuth app "spare" cannot change its kind or access while mailboxes are connected through it \(kim\)/)

  t.equal((await second.api('DELETE', '/api/v1/mailboxes/kim')).status, 204)
  await writeFile(file, 'oauthApps: []\n')
  const third = await startTestRuntime(t, { role: 'web', databaseUrl, env })
  t.same(await names(third), ['api-made'], 'spare goes once nothing uses it')
})
