/**
 * imap.search: like mail_room, a mailbox takes only unseen messages unless
 * asked otherwise, on its first sync and every later one, whatever
 * afterDelivery does; read messages are left exactly as they were.
 */
import t from 'tap'
import { makeEmail } from '../helpers/emails.ts'
import { waitFor } from '../helpers/wait.ts'
import type { Dovecot, DovecotUser } from '../helpers/dovecot.ts'
import type { TestRuntime } from '../helpers/runtime.ts'
import { imapFixture, imapMailbox } from './imap-fixture.ts'

const messageId = (raw: Buffer): string => /Message-ID: (<[^>]+>)/.exec(raw.toString())![1]

/** Appends in order on one session (UIDs follow), read ones flagged \Seen; resolves to their raws. */
async function deliver (imap: Dovecot, user: string, kinds: Array<'read' | 'unread'>, start: number): Promise<Buffer[]> {
  const raws = kinds.map((_, i) => makeEmail(start + i))
  const c = await imap.client(user)
  try {
    for (const [i, kind] of kinds.entries()) await c.append('INBOX', raws[i], kind === 'read' ? ['\\Seen'] : [])
  } finally { await c.logout() }
  return raws
}

async function storedIds (rt: TestRuntime, mailbox: string): Promise<string[]> {
  const { rows } = await rt.ctx.pool.query<{ message_id: string }>('SELECT message_id FROM inbound_emails WHERE mailbox_name = $1', [mailbox])
  return rows.map(r => r.message_id).sort()
}

async function lastSuccess (rt: TestRuntime, mailbox: string): Promise<string | null> {
  const { rows } = await rt.ctx.pool.query<{ at: string | null }>('SELECT last_success_at::text AS at FROM mailboxes WHERE name = $1', [mailbox])
  return rows[0]?.at ?? null
}

/** Creates the mailbox and resolves once its first sync has succeeded (marks and moves included). */
async function addAndSync (rt: TestRuntime, spec: Record<string, unknown>): Promise<void> {
  const created = await rt.api('POST', '/api/v1/mailboxes', { pollIntervalSeconds: 3600, ...spec })
  if (created.status !== 201) throw new Error(`mailbox not created: ${JSON.stringify(created.body)}`)
  await waitFor(async () => await lastSuccess(rt, spec.name as string), `${spec.name as string} synced`)
}

/** One more sync, resolved once it has succeeded. */
async function syncAgain (rt: TestRuntime, name: string): Promise<void> {
  const before = await lastSuccess(rt, name)
  const asked = await rt.api('POST', `/api/v1/mailboxes/${name}/poll`)
  if (asked.status !== 202) throw new Error(`poll answered ${asked.status as number}`)
  await waitFor(async () => (await lastSuccess(rt, name)) !== before, `${name} synced again`)
}

/** uid -> flags of the folder. */
async function state (imap: Dovecot, u: DovecotUser, folder = 'INBOX'): Promise<Record<number, string[]>> {
  return Object.fromEntries([...(await imap.flags(u.user, folder)).entries()].map(([uid, f]) => [uid, [...f].sort()]))
}

async function markUnread (imap: Dovecot, u: DovecotUser, uid: number): Promise<void> {
  const c = await imap.client(u.user)
  try {
    const lock = await c.getMailboxLock('INBOX')
    try { await c.messageFlagsRemove(String(uid), ['\\Seen'], { uid: true }) } finally { lock.release() }
  } finally { await c.logout() }
}

const kinds: Array<'read' | 'unread'> = ['unread', 'read', 'unread', 'read']
// one server and one runtime for the file: each test has users and mailboxes of its own
const { imap, rt } = await imapFixture(t)

t.test('default (unseen), every afterDelivery: read mail is left alone, on the first sync and later ones', async t => {
  const modes = ['seen', 'delete', 'move:Archive'] as const
  await Promise.all(modes.map(async (mode) => {
    const u = imap.addUser()
    if (mode === 'move:Archive') await imap.createFolder(u.user, 'Archive')
    const [u1, r1, u2, r2] = await deliver(imap, u.user, kinds, 0)
    const spec = imapMailbox(imap, u, { afterDelivery: mode })
    const name = spec.name as string
    await addAndSync(rt, spec)
    t.same(await storedIds(rt, name), [u1, u2].map(messageId).sort(), `${mode}: only the unread ones stored`)
    const left = mode === 'seen' ? { 1: ['\\Seen'], 2: ['\\Seen'], 3: ['\\Seen'], 4: ['\\Seen'] } : { 2: ['\\Seen'], 4: ['\\Seen'] }
    t.same(await state(imap, u), left, `${mode}: the read ones are still there, still read`)
    if (mode === 'move:Archive') t.equal(await imap.count(u.user, 'Archive'), 2, 'only the unread ones moved')

    // later syncs: a message read by someone else before mailslot saw it stays; an unseen one is taken
    const [r3, u3] = await deliver(imap, u.user, ['read', 'unread'], 10)
    await syncAgain(rt, name)
    t.same(await storedIds(rt, name), [u1, u2, u3].map(messageId).sort(), `${mode}: a later read message is not taken`)
    t.ok((await state(imap, u))[5]?.includes('\\Seen'), `${mode}: it is still there, read`)
    t.notOk(await storedIds(rt, name).then(ids => ids.includes(messageId(r3))))

    // a read message below the cursor marked unread again: taken, as mail_room's UNSEEN would
    await markUnread(imap, u, 2)
    await syncAgain(rt, name)
    t.same(await storedIds(rt, name), [u1, u2, u3, r1].map(messageId).sort(), `${mode}: an unseen message below the cursor is not skipped`)
    const end = await state(imap, u)
    if (mode === 'seen') t.ok(end[2].includes('\\Seen'), 'marked')
    else t.same(Object.keys(end), ['4', '5'], `${mode}: taken off the folder; the read ones stay`)
    t.notOk((await storedIds(rt, name)).includes(messageId(r2)))
  }))
})

t.test('imap.search all: read mail is taken too', async t => {
  const del = imap.addUser()
  const seen = imap.addUser()
  const forDelete = await deliver(imap, del.user, kinds, 0)
  const forSeen = await deliver(imap, seen.user, kinds, 10)
  const a = imapMailbox(imap, del, { afterDelivery: 'delete', imap: { ...(imapMailbox(imap, del).imap as object), search: 'all' } })
  const b = imapMailbox(imap, seen, { imap: { ...(imapMailbox(imap, seen).imap as object), search: 'all' } })
  await Promise.all([addAndSync(rt, a), addAndSync(rt, b)])
  t.same(await storedIds(rt, a.name as string), forDelete.map(messageId).sort(), 'delete: all four stored')
  t.equal(await imap.count(del.user, 'INBOX'), 0, 'delete: the folder is empty')
  t.same(await storedIds(rt, b.name as string), forSeen.map(messageId).sort(), 'seen: all four stored')
  // with seen, later read arrivals are above the cursor: taken as well, once
  const [late] = await deliver(imap, seen.user, ['read'], 20)
  await syncAgain(rt, b.name as string)
  await syncAgain(rt, b.name as string)
  t.same(await storedIds(rt, b.name as string), [...forSeen, late].map(messageId).sort(), 'seen: a later read message is taken once')
  t.equal(await imap.count(seen.user, 'INBOX'), 5)
})

t.test('imap.search new: unseen mail that arrived since the folder was last opened, then anything unseen after the first sync', async t => {
  const u = imap.addUser()
  const [oldUnread] = await deliver(imap, u.user, ['unread', 'read'], 0)
  // another client (mail_room) opened the folder: those two are no longer recent
  const other = await imap.client(u.user)
  await other.mailboxOpen('INBOX')
  await other.logout()
  const [fresh] = await deliver(imap, u.user, ['unread', 'read'], 10)
  const spec = imapMailbox(imap, u, { afterDelivery: 'delete', imap: { ...(imapMailbox(imap, u).imap as object), search: 'new' } })
  await addAndSync(rt, spec)
  const name = spec.name as string
  t.same(await storedIds(rt, name), [messageId(fresh)], 'only the unseen recent one')
  t.same(await state(imap, u), { 1: [], 2: ['\\Seen'], 4: ['\\Seen'] }, 'the old unread one and the read ones are left as they were')

  // arrived since, but another session opened the folder first: no longer recent, still taken
  const [later] = await deliver(imap, u.user, ['unread'], 20)
  const again = await imap.client(u.user)
  await again.mailboxOpen('INBOX')
  await again.logout()
  await syncAgain(rt, name)
  t.same(await storedIds(rt, name), [fresh, later].map(messageId).sort(), 'taken after the first sync though not recent')
  t.notOk((await storedIds(rt, name)).includes(messageId(oldUnread)), 'the unread one from before is never taken')
  t.same(Object.keys(await state(imap, u)), ['1', '2', '4'])
})
