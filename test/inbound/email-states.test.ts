/**
 * endStateRecorder: outcomes recorded while an UPDATE is in flight wait and
 * go together in the next one (one commit for many emails), and each record()
 * resolves only once its own row is written.
 */
import t from 'tap'
import { storeFetched } from '../../src/inbound/store.ts'
import { claim, endStateRecorder } from '../../src/inbound/email-states.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startTestRuntime } from '../helpers/runtime.ts'

t.test('ten outcomes at once: two statements (the first alone, the nine that came meanwhile together), each awaited to its row', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await createMailbox(rt.ctx.pool, rt.ctx.encryptionKey, {
    name: 'recorder', provider: 'imap', imap: { host: '127.0.0.1', user: 'x', password: 'y' }, address: 'incoming+%{key}@example.com'
  })
  const { stored } = await storeFetched(rt.ctx, { id: mailbox.id, name: 'recorder' }, Array.from({ length: 10 }, (_, i) => ({ ref: { key: `k${i}` }, raw: makeEmail(i), complete: true })))
  const claimed = await claim(rt.ctx, stored)
  const recorder = endStateRecorder(rt.ctx)
  const statusOf = async (id: number): Promise<string> => (await rt.ctx.pool.query<{ status: string }>('SELECT status FROM inbound_emails WHERE id = $1', [id])).rows[0].status
  const seen = await Promise.all(claimed.map(async (email) => {
    await recorder.record({ email, outcome: { status: 'delivered', handler: 'webhook', result: { status: 204 } }, parsed: null })
    return await statusOf(email.id)
  }))
  await recorder.done()
  t.same(seen, Array(10).fill('delivered'), 'each record() resolved after its row was written')
  const { rows } = await rt.ctx.pool.query<{ n: number }>('SELECT count(DISTINCT handled_at)::int AS n FROM inbound_emails')
  t.equal(rows[0].n, 2, 'two statements for ten outcomes')
})

t.test('a group the database refuses: each outcome falls back to its own write, a refused one ends failed', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await createMailbox(rt.ctx.pool, rt.ctx.encryptionKey, {
    name: 'refused', provider: 'imap', imap: { host: '127.0.0.1', user: 'x', password: 'y' }, address: 'incoming+%{key}@example.com'
  })
  const { stored } = await storeFetched(rt.ctx, { id: mailbox.id, name: 'refused' }, Array.from({ length: 3 }, (_, i) => ({ ref: { key: `k${i}` }, raw: makeEmail(i), complete: true })))
  const claimed = await claim(rt.ctx, stored)
  await rt.ctx.pool.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.id = ${stored[1]} AND NEW.status = 'delivered' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`)
  await rt.ctx.pool.query('CREATE TRIGGER refuse BEFORE UPDATE ON inbound_emails FOR EACH ROW EXECUTE FUNCTION refuse()')
  const recorder = endStateRecorder(rt.ctx)
  await Promise.all(claimed.map(async email => { await recorder.record({ email, outcome: { status: 'delivered', handler: 'gitlab', result: { status: 200 } }, parsed: null }) }))
  const { rows } = await rt.ctx.pool.query<{ status: string, last_error: string | null }>('SELECT status, last_error FROM inbound_emails ORDER BY id')
  t.same(rows.map(r => r.status), ['delivered', 'failed', 'delivered'])
  t.match(rows[1].last_error, /refused by the test/)
})
