/**
 * `mailslot mailbox test` for Graph mailboxes, against the HTTPS fake of Graph
 * and the identity platform: what a poll would take with nothing changed
 * (GETs only), and the identity platform's and Graph's refusals in plain words.
 */
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { createMailbox, loadMailbox } from '../../src/mailboxes/repository.ts'
import { saveCursor } from '../../src/mailboxes/sync-state.ts'
import { GraphProvider } from '../../src/providers/graph/provider.ts'
import type { GraphCursor } from '../../src/providers/graph/delta.ts'
import type { GraphAppSettings, MailboxSpec } from '../../src/mailboxes/types.ts'
import { testMailbox } from '../../src/cli/mailbox-test.ts'
import { startFakeGraph } from '../fakes/graph/index.ts'
import { graphClientFor } from '../fakes/graph/clients.ts'
import { graphMailbox } from '../helpers/graph-fixture.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startTestRuntime } from '../helpers/runtime.ts'

t.setTimeout(180_000)

const fake = await startFakeGraph()
t.teardown(async () => await fake.close())
// no workers: nothing but the doctor touches the mailboxes
const rt = await startTestRuntime(t, { role: 'web' })
const box = fake.addMailbox('support@contoso.example')

let n = 0
async function mailbox (graph: Partial<GraphAppSettings> = {}, over: Partial<MailboxSpec> = {}): Promise<{ id: number, name: string }> {
  const base = graphMailbox(fake, box) as unknown as MailboxSpec & { graph: GraphAppSettings }
  const name = `graph-doctor-${++n}`
  const m = await createMailbox(rt.ctx, rt.ctx.pool, { ...base, name, graph: { ...base.graph!, ...graph }, ...over })
  return { id: m.id, name }
}

type Steps = { steps: Array<{ step: string, ok: boolean, explanation?: string }> }
const failed = (r: Steps): { step: string, explanation?: string } | undefined => r.steps.find(s => !s.ok)

t.test('a working mailbox: the unread messages a first poll would take, with GETs only', async t => {
  const read = box.addMessage('Inbox', makeEmail(1))
  box.addMessage('Inbox', makeEmail(2, { size: 3000 }))
  box.addMessage('Inbox', makeEmail(3, { size: 40_000 }))
  await graphClientFor(fake).api(`/users/${box.id}/messages/${read.id}`).patch({ isRead: true })
  const m = await mailbox({}, { maxEmailBytes: 20_000 })
  const rowBefore = (await rt.ctx.pool.query('SELECT * FROM mailboxes WHERE id = $1', [m.id])).rows[0]
  const readBefore = box.messages('Inbox').map(x => x.isRead)
  const from = fake.requests.length

  const report = await testMailbox(rt.ctx, m.name)
  t.equal(report.ok, true, JSON.stringify(report.steps))
  t.same(report.steps.map(s => s.step), ['tenant', 'token', 'folder', 'list'])
  t.match(report.steps[1].detail, 'application permissions: Mail.ReadWrite')
  t.match(report.steps[2].detail, 'support@contoso.example: Inbox: 3 messages, 2 unread')
  t.match(report.preview, { messages: 2, overLimit: 1, limitBytes: 20_000, sizes: 'approximate' }, 'the two unread ones, one over the limit')
  t.ok(report.preview!.largestBytes! >= 40_000)
  t.ok(report.preview!.oldest !== null && report.preview!.newest !== null)

  const graphRequests = fake.requests.slice(from).filter(r => r.path.startsWith('/v1.0/'))
  t.ok(graphRequests.length >= 3)
  t.same([...new Set(graphRequests.map(r => r.method))], ['GET'], 'GET requests only to Graph')
  t.same(box.messages('Inbox').map(x => x.isRead), readBefore, 'nothing marked read')
  t.same((await rt.ctx.pool.query('SELECT * FROM mailboxes WHERE id = $1', [m.id])).rows[0], rowBefore, 'cursor and health as they were')
  t.equal((await rt.ctx.pool.query('SELECT count(*)::int AS n FROM inbound_emails')).rows[0].n, 0, 'nothing stored')
})

t.test('after a poll: only what arrived since the stored delta link, which stays as it was', async t => {
  const m = await mailbox()
  const { spec } = (await loadMailbox(rt.ctx.pool, rt.ctx.keyring, m.id))!
  const listed = await new GraphProvider(spec.graph!, 'seen').listNew(undefined)
  const cursor = { deltaLink: (listed.cursor as GraphCursor).pending?.deltaLink ?? (listed.cursor as GraphCursor).deltaLink }
  await saveCursor(rt.ctx.pool, m.id, cursor)
  box.addMessage('Inbox', makeEmail(4))
  const report = await testMailbox(rt.ctx, m.name)
  t.equal(report.preview?.messages, 1, 'the one new message')
  t.same((await rt.ctx.pool.query('SELECT cursor FROM mailboxes WHERE id = $1', [m.id])).rows[0].cursor, cursor, 'the cursor did not move')
})

t.test('a wrong client secret: AADSTS7000215, the secret\'s Value and not its ID', async t => {
  const r = await testMailbox(rt.ctx, (await mailbox({ clientSecret: 'fake~the-secret-id-not-its-value' })).name)
  t.match(failed(r), { step: 'token', explanation: /the client secret is wrong: use the secret's Value/ })
  t.match(r.steps[1].detail, 'AADSTS7000215')
  t.notMatch(JSON.stringify(r), 'fake~the-secret-id-not-its-value', 'the secret is not shown')
})

t.test('an unknown tenant: AADSTS90002, found before any secret is sent', async t => {
  const tokenRequests = fake.requests.filter(x => x.path.includes('/token')).length
  const r = await testMailbox(rt.ctx, (await mailbox({ tenantId: randomUUID() })).name)
  t.match(failed(r), { step: 'tenant', explanation: /there is no tenant by this id/ })
  t.equal(fake.requests.filter(x => x.path.includes('/token')).length, tokenRequests, 'no token asked for')
})

t.test('an app that is not in the tenant: AADSTS700016', async t => {
  const r = await testMailbox(rt.ctx, (await mailbox({ clientId: randomUUID() })).name)
  t.match(failed(r), { step: 'token', explanation: /no app with this client id in the tenant/ })
})

t.test('an application access policy that leaves the mailbox out: 403 ErrorAccessDenied', async t => {
  const other = fake.addMailbox('restricted@contoso.example')
  fake.denyAccess(other.upn)
  const r = await testMailbox(rt.ctx, (await mailbox({ user: other.upn })).name)
  t.match(failed(r), { step: 'folder', explanation: /application access policy .* keeps the app from restricted@contoso\.example/ })
})

t.test('403 without a policy named: both causes, consent first', async t => {
  fake.faults.inject({ status: 403, code: 'ErrorAccessDenied', message: 'Access is denied. Check credentials and try again.', times: 1, path: '/mailFolders/' })
  const r = await testMailbox(rt.ctx, (await mailbox()).name)
  t.match(failed(r), { step: 'folder', explanation: /the Mail\.ReadWrite application permission lacks admin consent, or an Exchange application access policy/ })
})

t.test('an unknown user and a missing folder: 404s told apart', async t => {
  const user = await testMailbox(rt.ctx, (await mailbox({ user: 'nobody@contoso.example' })).name)
  t.match(failed(user), { step: 'folder', explanation: /there is no user nobody@contoso\.example in the tenant/ })
  const folder = await testMailbox(rt.ctx, (await mailbox({ folder: 'Support' })).name)
  t.match(failed(folder), { step: 'folder', explanation: /there is no folder "Support" in support@contoso\.example: .*top-level folders of .*: Inbox \(/ })
})
