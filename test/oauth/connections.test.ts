// saveConnection: one row per mailbox; a reconnect replaces the tokens in
// place, clears reauth_required, makes the mailbox due and keeps its cursor
// (another account's grant starts it afresh); tokens sealed.
import t from 'tap'
import { startTestRuntime } from '../helpers/runtime.ts'
import { createApp } from '../../src/oauth/apps/repository.ts'
import { withDefaults } from '../../src/oauth/apps/schema.ts'
import { markReauthRequired, saveConnection } from '../../src/oauth/connections/repository.ts'
import { connectedMailboxSpec } from '../../src/oauth/connections/mailbox-spec.ts'
import { createMailbox, getMailboxView } from '../../src/mailboxes/repository.ts'
import type { GrantedAccount, TokenSet } from '../../src/oauth/types.ts'

const tokens = (n: number): TokenSet => ({ accessToken: `access-${n}-0123456789`, refreshToken: `refresh-${n}-0123456789`, expiresAt: new Date(Date.now() + 3600_000) })
const kim: GrantedAccount = { account: 'kim@example.com', subject: 'sub-kim', tenantId: 'tenant-1' }

t.test('connect, reconnect, reconnect as another account', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const db = rt.ctx.pool
  const view = await createApp(db, rt.ctx.keyring, withDefaults({ name: 'gmail', kind: 'google', clientId: 'c', clientSecret: 's', imap: { host: 'imap.example.com' } }))
  const { rows: [app] } = await db.query<{ id: number }>('SELECT id FROM oauth_apps')
  const spec = connectedMailboxSpec(view, kim.account, { name: 'kim', serviceDeskProjectId: 7, pollIntervalSeconds: 300 })
  t.same(spec, {
    name: 'kim', serviceDeskProjectId: 7, pollIntervalSeconds: 300, provider: 'imap',
    imap: { host: 'imap.example.com', port: 993, tls: 'implicit', user: kim.account, auth: { oauthApp: 'gmail' } }
  })
  const mailbox = await createMailbox(rt.ctx, db, spec)
  const state = async (): Promise<{ cursor: unknown, due: boolean, n: number }> => (await db.query(
    `SELECT m.cursor, m.next_poll_at <= now() AS due, (SELECT count(*)::int FROM oauth_connections) AS n FROM mailboxes m WHERE id = $1`, [mailbox.id])).rows[0]

  await saveConnection(db, rt.ctx.keyring, { mailboxId: mailbox.id, appId: app.id, account: kim, tokens: tokens(1) })
  t.match((await getMailboxView(db, 'kim')).connection, { app: 'gmail', account: kim.account, state: 'connected', connectedAt: String })
  const { rows: [row] } = await db.query<{ tokens: Buffer }>('SELECT tokens FROM oauth_connections')
  t.notOk(row.tokens.includes(Buffer.from('access-1')) || row.tokens.includes(Buffer.from('refresh-1')), 'tokens sealed')

  const cursor = { uidValidity: '7', lastUid: 42 }
  await db.query("UPDATE mailboxes SET cursor = $2, next_poll_at = 'infinity' WHERE id = $1", [mailbox.id, JSON.stringify(cursor)])
  await markReauthRequired(rt.ctx, db, mailbox.id, 'revoked')
  t.match(await getMailboxView(db, 'kim'), { health: { state: 'reauth_required' }, connection: { state: 'reauth_required' } })

  await saveConnection(db, rt.ctx.keyring, { mailboxId: mailbox.id, appId: app.id, account: kim, tokens: tokens(2) })
  t.same(await state(), { cursor, due: true, n: 1 }, 'reconnected in place: cursor kept, due at once, one row')
  t.match((await getMailboxView(db, 'kim')).connection, { state: 'connected' })

  await saveConnection(db, rt.ctx.keyring, { mailboxId: mailbox.id, appId: app.id, account: { ...kim, account: 'lee@example.com', subject: 'sub-lee' }, tokens: tokens(3) })
  t.same(await state(), { cursor: null, due: true, n: 1 }, 'another account: its mailbox is read afresh')
  t.equal((await getMailboxView(db, 'kim')).connection?.account, 'lee@example.com')
})
