/**
 * MAILSLOT_ENCRYPTION_KEY=new,old and `mailslot secrets rotate`: secrets
 * stored under A, a start with B alone shows a health error and stays up,
 * B,A works, rotate re-encrypts everything, then B alone works.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { syncMailbox } from '../../src/ingestion/sync.ts'
import { createMailbox, loadMailbox, resealMailboxSecrets, upsertMailbox } from '../../src/mailboxes/repository.ts'
import type { MailboxSpec } from '../../src/mailboxes/types.ts'
import { resealClientStates, saveActive } from '../../src/graph-webhooks/subscriptions/repository.ts'
import { openClientState, sealClientState } from '../../src/graph-webhooks/client-state.ts'
import { runSubscriptionJob } from '../../src/graph-webhooks/subscriptions/manager.ts'
import { Keyring } from '../../src/shared/crypto.ts'
import type { Queryable } from '../../src/db/pool.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { runCli, startServer } from '../helpers/cli.ts'
import { startDovecot } from '../helpers/dovecot.ts'
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { waitFor } from '../helpers/wait.ts'

const imap = await startDovecot()
t.teardown(async () => await imap.stop())

const A = randomBytes(32).toString('base64')
const B = randomBytes(32).toString('base64')
const CLIENT_STATE = 'client-state-' + randomBytes(16).toString('hex')

function imapSpec (name: string): MailboxSpec {
  const u = imap.addUser()
  return { name, provider: 'imap', imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password, connectTimeoutSeconds: 5 } } as MailboxSpec
}

/** A polled Graph mailbox with a subscription row whose clientState is sealed: the second sealed column. */
async function graphWithSubscription (rt: TestRuntime): Promise<number> {
  const box = await createMailbox(rt.ctx, rt.ctx.pool, {
    name: 'graph-box', provider: 'graph', mode: 'poll',
    graph: { tenantId: 't', clientId: 'c', clientSecret: 'graph-secret-' + randomBytes(8).toString('hex'), user: 'u@example.com', baseUrl: 'http://127.0.0.1:1', authorityHost: 'http://127.0.0.1:1' }
  } as MailboxSpec)
  await saveActive(rt.ctx.pool, box.id, {
    subscriptionId: 'sub-1', sealedClientState: sealClientState(rt.ctx.keyring, CLIENT_STATE),
    resource: 'users/u/mailFolders/Inbox/messages', notificationUrl: 'http://127.0.0.1:1/graph/notifications', expiresAt: new Date(Date.now() + 3600_000).toISOString()
  })
  return box.id
}

const health = async (db: Queryable, id: number): Promise<{ health_state: string, last_error: string | null }> =>
  (await db.query('SELECT health_state, last_error FROM mailboxes WHERE id = $1', [id])).rows[0]

const clientStateOf = async (db: Queryable, keyring: Keyring): Promise<string> =>
  openClientState(keyring, (await db.query('SELECT client_state FROM graph_subscriptions')).rows[0].client_state)

t.test('stored with A; B alone: a health error, process up; B,A works; rotate; B alone works', async t => {
  const url = await createTestDatabase(t)
  const token = randomBytes(18).toString('base64url')
  const withA = await startTestRuntime(t, { databaseUrl: url, role: 'web', background: false, env: { MAILSLOT_ENCRYPTION_KEY: A } })
  const imapId = (await createMailbox(withA.ctx, withA.ctx.pool, imapSpec('imap-box'))).id
  const graphId = await graphWithSubscription(withA)

  // B alone, as a real process: the poll records why, the API and /healthz answer, the process stays up
  const env = { DATABASE_URL: url, MAILSLOT_ADMIN_TOKEN: token, MAILSLOT_DATA_DIR: t.testdir() }
  const server = await startServer({ ...env, MAILSLOT_ENCRYPTION_KEY: B })
  const api = async (method: string, path: string, body?: unknown): Promise<Response> => await fetch(server.address + path, {
    method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body)
  })
  t.equal((await api('POST', '/api/v1/mailboxes/imap-box/poll')).status, 202)
  const view = await waitFor(async () => {
    const v = await (await api('GET', '/api/v1/mailboxes/imap-box')).json() as { health: { state: string, lastError: string | null } }
    return v.health.state === 'auth_failed' ? v : null
  }, 'the wrong key in the health')
  t.match(view.health.lastError, /^cannot decrypt the mailbox secrets: written with a key not listed in MAILSLOT_ENCRYPTION_KEY/)
  t.equal((await api('GET', '/api/v1/mailboxes')).status, 200, 'the list answers')
  t.equal((await api('GET', '/api/v1/mailboxes/graph-box')).status, 200, 'the Graph mailbox answers')
  // a notification for the subscription whose clientState it cannot read: refused, not a crash
  const note = { value: [{ subscriptionId: 'sub-1', clientState: CLIENT_STATE, changeType: 'created', resource: 'Users/x/Messages/m1', resourceData: { id: 'm1' } }] }
  t.equal((await api('POST', '/graph/notifications', note)).status, 202, 'notification answered')
  t.equal((await withA.ctx.pool.query('SELECT count(*)::int AS n FROM graph_notifications')).rows[0].n, 0, 'and not accepted')
  // the child's log reaches this process through a pipe, maybe after the answer
  await waitFor(async () => /graph subscription clientState unreadable/.test(server.output()), 'the unreadable clientState logged')
  t.equal((await fetch(server.address + '/healthz')).status, 200, '/healthz answers')
  t.equal(server.child.exitCode, null, 'still running')
  t.equal(await server.stop(), 0, 'stops cleanly')

  // the Graph subscription job with B alone: the error is on the subscription, the job does not throw
  const withB = await startTestRuntime(t, { databaseUrl: url, role: 'web', background: false, env: { MAILSLOT_ENCRYPTION_KEY: B } })
  await runSubscriptionJob(withB.ctx, { mailboxId: graphId, action: 'ensure' })
  const sub = (await withB.ctx.pool.query('SELECT state, last_error FROM graph_subscriptions')).rows[0]
  t.match(sub, { state: 'active', last_error: /^mailbox secrets: written with a key not listed in MAILSLOT_ENCRYPTION_KEY/ }, 'shown on the subscription')

  // B,A: read with A, written with B
  const both = await startTestRuntime(t, { databaseUrl: url, role: 'web', background: false, env: { MAILSLOT_ENCRYPTION_KEY: `${B},${A}` } })
  await syncMailbox(both.ctx, { mailboxId: imapId, reason: 'manual' })
  t.same(await health(both.ctx.pool, imapId), { health_state: 'ok', last_error: null }, 'B,A syncs')
  t.equal(await clientStateOf(both.ctx.pool, both.ctx.keyring), CLIENT_STATE)

  const rotated = await runCli(['secrets', 'rotate'], { ...env, MAILSLOT_ENCRYPTION_KEY: `${B},${A}` })
  t.equal(rotated.code, 0, rotated.stderr)
  t.equal(rotated.stdout, 'mailboxes.secrets: 2 re-encrypted, 0 already under the first key\n' +
    'graph_subscriptions.client_state: 1 re-encrypted, 0 already under the first key\n' +
    'oauth_apps.secrets: 0 re-encrypted, 0 already under the first key\n' +
    'oauth_connections.tokens: 0 re-encrypted, 0 already under the first key\n' +
    'connect_links.secrets: 0 re-encrypted, 0 already under the first key\n')
  const again = await runCli(['secrets', 'rotate'], { ...env, MAILSLOT_ENCRYPTION_KEY: `${B},${A}` })
  t.match(again.stdout, /mailboxes\.secrets: 0 re-encrypted, 2 already under the first key/, 'a second run has nothing to do')

  // B alone now reads everything
  const onlyB = await startTestRuntime(t, { databaseUrl: url, role: 'web', background: false, env: { MAILSLOT_ENCRYPTION_KEY: B } })
  await syncMailbox(onlyB.ctx, { mailboxId: imapId, reason: 'manual' })
  t.same(await health(onlyB.ctx.pool, imapId), { health_state: 'ok', last_error: null }, 'B alone syncs')
  t.ok(await loadMailbox(onlyB.ctx.pool, onlyB.ctx.keyring, graphId), 'the Graph secrets open with B')
  t.equal(await clientStateOf(onlyB.ctx.pool, onlyB.ctx.keyring), CLIENT_STATE, 'the clientState opens with B')

  // A alone no longer does: the old key really was dropped from the data
  const noA = await runCli(['secrets', 'rotate'], { ...env, MAILSLOT_ENCRYPTION_KEY: A })
  t.equal(noA.code, 1)
  t.match(noA.stdout, /mailboxes\.secrets: 0 re-encrypted, 0 already under the first key, 2 no listed key opens \(ids \d+, \d+\)/)
  t.match(noA.stderr, /keep the old key/)
})

t.test('a bad key entry is named by position and exits 2 in one line', async t => {
  const r = await runCli(['secrets', 'rotate'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/x', MAILSLOT_ENCRYPTION_KEY: `${B},c2hvcnQ=` })
  t.equal(r.code, 2)
  t.equal(r.stderr, 'mailslot: configuration error: MAILSLOT_ENCRYPTION_KEY: entry 2 of 2 must decode to 32 bytes, got 5\n')
})

/** The pool, except that the first UPDATE of `table` lets `meanwhile` write first: a writer between rotate's read and write. */
function racing (db: Queryable, table: string, meanwhile: () => Promise<void>): Queryable {
  let raced = false
  return {
    query: (async (sql: string, params?: unknown[]) => {
      if (!raced && sql.startsWith(`UPDATE ${table} `)) { raced = true; await meanwhile() }
      return await db.query(sql, params)
    }) as Queryable['query']
  }
}

t.test('rotate never overwrites what a running process wrote meanwhile', async t => {
  const rt = await startTestRuntime(t, { role: 'web', background: false })
  const [oldKey, newKey] = [new Keyring([randomBytes(32)]), randomBytes(32)]
  const ring = new Keyring([newKey, ...oldKey.keys])
  // processes on the old keys, and on both
  const [onOld, onBoth] = [{ ...rt.ctx, keyring: oldKey }, { ...rt.ctx, keyring: ring }]
  const spec = imapSpec('raced')
  const id = (await createMailbox(onOld, rt.ctx.pool, spec)).id

  // a process with the new keys changes the password between rotate's read and write
  const changed = { ...spec, imap: { ...spec.imap, password: 'changed-by-new-process' } } as MailboxSpec
  let count = await resealMailboxSecrets(racing(rt.ctx.pool, 'mailboxes', async () => { await upsertMailbox(onBoth, rt.ctx.pool, changed) }), ring)
  t.match(count, { rotated: 0, current: 1, undecryptable: [], changing: [] })
  t.equal((await loadMailbox(rt.ctx.pool, new Keyring([newKey]), id))?.spec.imap?.password, 'changed-by-new-process', 'its write kept')

  // a process still on the old key writes meanwhile: read again, re-encrypted, its value kept
  const older = { ...spec, imap: { ...spec.imap, password: 'changed-by-old-process' } } as MailboxSpec
  await upsertMailbox(onOld, rt.ctx.pool, spec)
  count = await resealMailboxSecrets(racing(rt.ctx.pool, 'mailboxes', async () => { await upsertMailbox(onOld, rt.ctx.pool, older) }), ring)
  t.match(count, { rotated: 1, current: 0 })
  t.equal((await loadMailbox(rt.ctx.pool, new Keyring([newKey]), id))?.spec.imap?.password, 'changed-by-old-process', 'its write kept, under the new key')

  // a row deleted meanwhile is simply gone
  await upsertMailbox(onOld, rt.ctx.pool, spec)
  count = await resealMailboxSecrets(racing(rt.ctx.pool, 'mailboxes', async () => { await rt.ctx.pool.query('DELETE FROM mailboxes WHERE id = $1', [id]) }), ring)
  t.match(count, { rotated: 0, current: 0, undecryptable: [], changing: [] })
  t.same(await resealClientStates(rt.ctx.pool, ring), { name: 'graph_subscriptions.client_state', rotated: 0, current: 0, undecryptable: [], changing: [] })
})
