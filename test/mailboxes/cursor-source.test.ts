/**
 * A mailbox's cursor belongs to where its mail comes from: replacing its
 * settings keeps the cursor unless the server, user, folder or Graph
 * endpoint changed (a UID or a delta link of the old source would be read
 * against the new one).
 */
import t from 'tap'
import { upsertMailbox } from '../../src/mailboxes/repository.ts'
import type { MailboxSpec } from '../../src/mailboxes/types.ts'
import { startTestRuntime } from '../helpers/runtime.ts'

const rt = await startTestRuntime(t, { role: 'web', background: false })

async function cursorAfter (first: MailboxSpec, then: MailboxSpec): Promise<unknown> {
  await upsertMailbox(rt.ctx, rt.ctx.pool, first)
  await rt.ctx.pool.query(`UPDATE mailboxes SET cursor = '{"kept": true}' WHERE name = $1`, [first.name])
  await upsertMailbox(rt.ctx, rt.ctx.pool, then)
  const { rows } = await rt.ctx.pool.query('SELECT cursor FROM mailboxes WHERE name = $1', [first.name])
  return rows[0].cursor
}

const imap = (name: string, over: Partial<NonNullable<MailboxSpec['imap']>> = {}): MailboxSpec =>
  ({ name, provider: 'imap', imap: { host: 'imap.example.com', user: 'help@example.com', password: 'p', ...over } })
const graph = (name: string, over: Record<string, unknown> = {}): MailboxSpec =>
  ({ name, provider: 'graph', graph: { tenantId: 't', clientId: 'c', clientSecret: 's', user: 'help@example.com', ...over } } as MailboxSpec)

t.test('kept when the source stays', async t => {
  t.same(await cursorAfter(imap('i1'), imap('i1', { password: 'changed', connectTimeoutSeconds: 10 })), { kept: true }, 'IMAP: a new password and timeout')
  t.same(await cursorAfter(graph('g1'), graph('g1', { clientSecret: 'rotated' })), { kept: true }, 'Graph: a rotated client secret')
})

t.test('reset when the mail comes from elsewhere', async t => {
  t.equal(await cursorAfter(imap('i2'), imap('i2', { host: 'imap2.example.com' })), null, 'IMAP: another host')
  t.equal(await cursorAfter(imap('i3'), imap('i3', { port: 1993 })), null, 'IMAP: another port')
  t.equal(await cursorAfter(imap('i4'), imap('i4', { user: 'other@example.com' })), null, 'IMAP: another user')
  t.equal(await cursorAfter(imap('i5'), imap('i5', { folder: 'Support' })), null, 'IMAP: another folder')
  t.equal(await cursorAfter(graph('g2'), graph('g2', { baseUrl: 'https://graph.example.net' })), null, 'Graph: another endpoint')
  t.equal(await cursorAfter(graph('g3'), graph('g3', { cloud: 'usgov' })), null, 'Graph: another cloud')
  t.equal(await cursorAfter(graph('g4'), graph('g4', { folder: 'Support' })), null, 'Graph: another folder')
  t.equal(await cursorAfter(imap('x1'), graph('x1')), null, 'IMAP to Graph')
})
