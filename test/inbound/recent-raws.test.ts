/**
 * Raws this process just stored are handed to its email-handle jobs from
 * memory; PostgreSQL stays the record for everything else (another process,
 * a retry, a replay).
 */
import t from 'tap'
import { storeFetched } from '../../src/inbound/store.ts'
import { handleEmails } from '../../src/inbound/handle.ts'
import { replayEmail } from '../../src/inbound/replay.ts'
import { recentRaws } from '../../src/inbound/recent-raws.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startTestRuntime } from '../helpers/runtime.ts'

t.test('stored here: handled from memory, taken out once claimed; a replay reads the database', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await createMailbox(rt.ctx, rt.ctx.pool, {
    name: 'recent', provider: 'imap', imap: { host: '127.0.0.1', user: 'x', password: 'y' }, address: 'incoming+%{key}@example.com'
  })
  const raws = [1, 2, 3].map(i => makeEmail(i))
  const { stored } = await storeFetched(rt.ctx, { id: mailbox.id, name: 'recent' }, raws.map((raw, i) => ({ ref: { key: `r${i}` }, raw, complete: true })))
  t.same(stored.map(id => rt.ctx.recentRaws.get(id)?.equals(raws[stored.indexOf(id)])), [true, true, true], 'the stored bytes are held')

  // the database copy is what a miss reads; made different here so the test tells the two apart
  await rt.ctx.pool.query(`UPDATE inbound_emails SET raw = convert_to(replace(convert_from(raw, 'UTF8'), 'Test message', 'From the database'), 'UTF8') WHERE id = $1`, [stored[1]])
  rt.ctx.recentRaws.delete(stored[1])
  await handleEmails(rt.ctx, stored)
  const subjects = async (): Promise<string[]> => (await rt.ctx.pool.query<{ s: string }>(`SELECT parsed->>'subject' AS s FROM inbound_emails ORDER BY id`)).rows.map(r => r.s)
  t.same(await subjects(), ['Test message 1', 'From the database 2', 'Test message 3'], 'hits from memory, the miss from the database')
  t.same(stored.map(id => rt.ctx.recentRaws.has(id)), [false, false, false], 'taken out once claimed')

  await rt.ctx.pool.query(`UPDATE inbound_emails SET raw = convert_to(replace(convert_from(raw, 'UTF8'), 'Test message', 'From the database'), 'UTF8')`)
  await replayEmail(rt.ctx, stored[0])
  await handleEmails(rt.ctx, [stored[0]])
  t.same((await subjects())[0], 'From the database 1', 'a replay reads the database')
})

t.test('bounded by bytes: an entry over half the bound is not held, old ones make room', async t => {
  const cache = recentRaws(1000)
  cache.set(1, Buffer.alloc(501))
  t.notOk(cache.has(1), 'too big to hold')
  for (let i = 2; i < 10; i++) cache.set(i, Buffer.alloc(200))
  t.ok(cache.calculatedSize <= 1000, `at most the bound (${cache.calculatedSize})`)
  t.notOk(cache.has(2), 'the oldest made room')
  t.ok(cache.has(9), 'the newest is held')
})
