/**
 * processBatches overlaps a session's steps: the next batch is stored while
 * the one before it is marked. Marks still follow their own commit and keep
 * the batches' order, and a failed mark stops the marks after it without
 * losing or doubling anything.
 */
import t from 'tap'
import { processBatches } from '../../src/ingestion/batch.ts'
import { syncMailbox } from '../../src/ingestion/sync.ts'
import { loadMailbox } from '../../src/mailboxes/repository.ts'
import { ImapProvider } from '../../src/providers/imap/provider.ts'
import type { MessageRef } from '../../src/providers/types.ts'
import { makeEmail } from '../helpers/emails.ts'
import { countRows } from '../helpers/rows.ts'
import { imapFixture, imapMailbox } from './imap-fixture.ts'
import type { ImapFixture } from './imap-fixture.ts'
import type { Test } from 'tap'

/** A real IMAP provider whose marks call `beforeMark` first (with the batch's UIDs). */
class ObservedProvider extends ImapProvider {
  beforeMark: (uids: number[]) => Promise<void> = async () => {}
  override async markProcessed (refs: MessageRef[]): Promise<void> {
    await this.beforeMark(refs.map(r => r.uid as number))
    await super.markProcessed(refs)
  }
}

async function mailboxWith (
  t: Test, count: number
): Promise<ImapFixture & { user: string, mailbox: { id: number, name: string }, provider: ObservedProvider, batches: MessageRef[][] }> {
  const fixture = await imapFixture(t, { role: 'web' })
  const u = fixture.imap.addUser()
  await fixture.imap.appendMany(u.user, 'INBOX', Array.from({ length: count }, (_, i) => makeEmail(i)))
  const { body } = await fixture.rt.api('POST', '/api/v1/mailboxes', imapMailbox(fixture.imap, u))
  const mailbox = (await loadMailbox(fixture.rt.ctx.pool, fixture.rt.ctx.keyring, body.id))!
  const provider = new ObservedProvider(mailbox.spec.imap!, 'seen')
  t.teardown(async () => { await provider.close() })
  const { refs } = await provider.listNew(null)
  const batches = [refs.slice(0, 10), refs.slice(10, 20), refs.slice(20, 30)]
  return { ...fixture, user: u.user, mailbox: { id: mailbox.id, name: mailbox.spec.name }, provider, batches }
}

const storedCount = async (f: ImapFixture): Promise<number> => await countRows(f.rt, 'SELECT count(*)::int AS n FROM inbound_emails')

t.test('the next batch is committed while the one before it is being marked; marks in order, each after its commit', async t => {
  const f = await mailboxWith(t, 30)
  const seenAtMark: Array<{ uids: number[], stored: number }> = []
  f.provider.beforeMark = async (uids) => {
    // the first mark waits (up to 10 s) for the second batch's commit: a
    // session that stored only after marking would never see it
    if (seenAtMark.length === 0) {
      const until = Date.now() + 10_000
      while (await storedCount(f) < 20 && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 20))
    }
    seenAtMark.push({ uids, stored: await storedCount(f) })
  }
  const { results, error } = await processBatches(f.rt.ctx, f.mailbox, f.provider, f.batches, 1e9)
  t.equal(error, undefined)
  t.same(results.map(r => r.stored), [10, 10, 10])
  t.ok(seenAtMark[0].stored >= 20, `the second batch was committed before the first was marked (${seenAtMark[0].stored} rows then)`)
  t.same(seenAtMark.map(m => m.uids[0]), [1, 11, 21], 'marked in the batches\' order')
  t.ok(seenAtMark.every((m, i) => m.stored >= 10 * (i + 1)), 'each batch marked after its own commit')
  t.same(await f.imap.seen(f.user, 'INBOX'), Array.from({ length: 30 }, (_, i) => i + 1))
  const { rows } = await f.rt.ctx.pool.query('SELECT cursor FROM mailboxes WHERE id = $1', [f.mailbox.id])
  t.equal(rows[0].cursor.lastUid, 30, 'the cursor moved past the last batch')
})

t.test('a failed mark: the batches before it are done, no later one is marked, and the next sync marks what was committed', async t => {
  const f = await mailboxWith(t, 30)
  f.provider.beforeMark = async (uids) => { if (uids[0] === 11) throw new Error('the server refused the mark') }
  const { results, error } = await processBatches(f.rt.ctx, f.mailbox, f.provider, f.batches, 1e9)
  t.match((error as Error).message, 'the server refused the mark')
  t.same(results.map(r => r.stored), [10], 'only the first batch is done')
  t.same(await f.imap.seen(f.user, 'INBOX'), Array.from({ length: 10 }, (_, i) => i + 1), 'nothing after the failed mark is marked')
  const stored = await storedCount(f)
  t.ok(stored >= 20 && stored <= 30, `what was committed stays (${stored} rows): the second batch and maybe the third`)
  const { rows } = await f.rt.ctx.pool.query('SELECT cursor FROM mailboxes WHERE id = $1', [f.mailbox.id])
  t.equal(rows[0].cursor.lastUid, 10, 'the cursor stops before the failed mark')

  // the next sync finds the committed ones stored: marked, not stored again
  await syncMailbox(f.rt.ctx, { mailboxId: f.mailbox.id, reason: 'manual' })
  t.equal(await storedCount(f), 30, 'every message once')
  t.same(await f.imap.seen(f.user, 'INBOX'), Array.from({ length: 30 }, (_, i) => i + 1), 'every message marked')
})
