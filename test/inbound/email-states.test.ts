/**
 * endStateRecorder: outcomes recorded while an UPDATE is in flight wait and
 * go together in the next one (one commit for many emails), and each record()
 * resolves only once its own row is written.
 */
import t, { type Test } from 'tap'
import { storeFetched } from '../../src/inbound/store.ts'
import { claim, endStateRecorder, recordAll, sharedEndStateRecorder, type Claimed } from '../../src/inbound/email-states.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'

/** A runtime with n emails stored in one mailbox and claimed for handling. */
async function claimedEmails (t: Test, n: number): Promise<{ rt: TestRuntime, stored: number[], claimed: Claimed[] }> {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await createMailbox(rt.ctx, rt.ctx.pool, {
    name: 'states', provider: 'imap', imap: { host: '127.0.0.1', user: 'x', password: 'y' }, address: 'incoming+%{key}@example.com'
  })
  const { stored } = await storeFetched(rt.ctx, { id: mailbox.id, name: 'states' }, Array.from({ length: n }, (_, i) => ({ ref: { key: `k${i}` }, raw: makeEmail(i), complete: true })))
  return { rt, stored, claimed: await claim(rt.ctx, stored) }
}

t.test('ten outcomes at once: two statements (the first alone, the nine that came meanwhile together), each awaited to its row', async t => {
  const { rt, claimed } = await claimedEmails(t, 10)
  const recorder = endStateRecorder(rt.ctx)
  const statusOf = async (id: number): Promise<string> => (await rt.ctx.pool.query<{ status: string }>('SELECT status FROM inbound_emails WHERE id = $1', [id])).rows[0].status
  const seen = await Promise.all(claimed.map(async (email) => {
    await recorder.record({ email, outcome: { status: 'delivered', handler: 'webhook', result: { status: 204 } }, parsed: null })
    return await statusOf(email.id)
  }))
  t.same(seen, Array(10).fill('delivered'), 'each record() resolved after its row was written')
  const { rows } = await rt.ctx.pool.query<{ n: number }>('SELECT count(DISTINCT handled_at)::int AS n FROM inbound_emails')
  t.equal(rows[0].n, 2, 'two statements for ten outcomes')
})

t.test('the handle calls of a process share one recorder: outcomes from two at once go in the same statements', async t => {
  const { rt, claimed } = await claimedEmails(t, 10)
  const [a, b] = [sharedEndStateRecorder(rt.ctx), sharedEndStateRecorder(rt.ctx)]
  t.equal(a, b, 'one recorder for the context')
  await Promise.all(claimed.map(async (email, i) => {
    await (i % 2 === 0 ? a : b).record({ email, outcome: { status: 'delivered', handler: 'gitlab', result: { status: 200 } }, parsed: null })
  }))
  const { rows } = await rt.ctx.pool.query<{ n: number }>('SELECT count(DISTINCT handled_at)::int AS n FROM inbound_emails')
  t.equal(rows[0].n, 2, 'two statements for ten outcomes from two callers')
})

t.test('a group the database refuses: each outcome falls back to its own write, a refused one ends failed', async t => {
  const { rt, stored, claimed } = await claimedEmails(t, 3)
  await rt.ctx.pool.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.id = ${stored[1]} AND NEW.status = 'delivered' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`)
  await rt.ctx.pool.query('CREATE TRIGGER refuse BEFORE UPDATE ON inbound_emails FOR EACH ROW EXECUTE FUNCTION refuse()')
  const recorder = endStateRecorder(rt.ctx)
  await Promise.all(claimed.map(async email => { await recorder.record({ email, outcome: { status: 'delivered', handler: 'gitlab', result: { status: 200 } }, parsed: null }) }))
  const { rows } = await rt.ctx.pool.query<{ status: string, last_error: string | null }>('SELECT status, last_error FROM inbound_emails ORDER BY id')
  t.same(rows.map(r => r.status), ['delivered', 'failed', 'delivered'])
  t.match(rows[1].last_error, /refused by the test/)
})

t.test('a transient database error recording an outcome sends the email back to received, with a retry job', async t => {
  const { rt, stored, claimed } = await claimedEmails(t, 2)
  // a serialization failure (SQLSTATE 40001) on the first email's end state only
  await rt.ctx.pool.query(`CREATE FUNCTION conflict() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.id = ${stored[0]} AND NEW.status = 'delivered' THEN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END IF; RETURN NEW; END $$`)
  await rt.ctx.pool.query('CREATE TRIGGER conflict BEFORE UPDATE ON inbound_emails FOR EACH ROW EXECUTE FUNCTION conflict()')
  await recordAll(rt.ctx, claimed.map(email => ({ email, outcome: { status: 'delivered', handler: 'gitlab', result: { status: 200 } }, parsed: null })))
  const { rows } = await rt.ctx.pool.query<{ status: string, last_error: string | null }>('SELECT status, last_error FROM inbound_emails ORDER BY id')
  t.same(rows.map(r => r.status), ['received', 'delivered'], 'retried, not failed')
  t.match(rows[0].last_error, /could not serialize/)
  const jobs = await rt.ctx.pool.query<{ data: { emailIds: number[] } }>("SELECT data FROM mailslot_boss.job WHERE name = 'email-handle'")
  t.ok(jobs.rows.some(j => j.data.emailIds.length === 1 && j.data.emailIds[0] === stored[0]), 'a retry job for it')
})
