/**
 * email-handle records a batch's end states in one statement; a row the
 * database refuses does not hold back the others.
 */
import t from 'tap'
import { handleEmails } from '../../src/inbound/handle.ts'
import { storeFetched } from '../../src/inbound/store.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startTestRuntime } from '../helpers/runtime.ts'

t.test('a batch ends in one pass; a row PostgreSQL refuses fails that email alone', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await createMailbox(rt.ctx.pool, rt.ctx.encryptionKey, {
    name: 'batch', provider: 'imap', imap: { host: '127.0.0.1', user: 'x', password: 'y' }, address: 'incoming+%{key}@example.com'
  })
  // a NUL in the subject (jsonb cannot hold \u0000: it is dropped), and a row
  // the database refuses: a trigger stands in for any such refusal
  const raws = [makeEmail(1), makeEmail(2, { subject: 'refuse me' }), makeEmail(3, { subject: '=?utf-8?B?bnVsAG51bA==?=' }), Buffer.alloc(0)]
  const { stored } = await storeFetched(rt.ctx, { id: mailbox.id, name: 'batch' },
    raws.map((raw, i) => ({ ref: { key: `k${i}` }, raw, complete: true })))
  await rt.ctx.pool.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.parsed->>'subject' = 'refuse me' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`)
  await rt.ctx.pool.query('CREATE TRIGGER refuse BEFORE UPDATE ON inbound_emails FOR EACH ROW EXECUTE FUNCTION refuse()')
  await handleEmails(rt.ctx, stored)

  const { rows } = await rt.ctx.pool.query<{ id: number, status: string, reason: string | null, last_error: string | null, handled: boolean, subject: string | null }>(
    `SELECT id, status, reason, last_error, handled_at IS NOT NULL AS handled, parsed->>'subject' AS subject FROM inbound_emails ORDER BY id`)
  t.same(rows.map(r => r.status), ['rejected', 'failed', 'rejected', 'rejected'], 'every email in an end state')
  t.same(rows.map(r => r.reason), ['unknown_key', null, 'unknown_key', 'empty'])
  t.match(rows[1].last_error, /refused by the test/, 'the refused one says why')
  t.equal(rows[2].subject, 'nulnul', 'the NUL is dropped from the summary')
  t.same(rows.map(r => r.handled), [true, true, true, true])
  t.equal(rows[0].subject, 'Test message 1', 'the parsed summary is kept')

  await handleEmails(rt.ctx, stored)
  const { rows: again } = await rt.ctx.pool.query<{ attempts: number }>('SELECT attempts FROM inbound_emails ORDER BY id')
  t.same(again.map(r => r.attempts), [1, 1, 1, 1], 'a job run twice changes nothing')
})
