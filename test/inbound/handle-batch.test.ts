/**
 * email-handle records a batch's end states in one statement; a row the
 * database refuses does not hold back the others.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { createProject } from '../../src/handlers/builtin/projects.ts'
import { RAW_SLICE_BYTES, readRawInSlices } from '../../src/inbound/raw-reader.ts'
import { handleEmails } from '../../src/inbound/handle.ts'
import { storeFetched } from '../../src/inbound/store.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startTestRuntime } from '../helpers/runtime.ts'

t.test('a batch ends in one pass; a row PostgreSQL refuses fails that email alone', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await createMailbox(rt.ctx, rt.ctx.pool, {
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

  const { rows } = await rt.ctx.pool.query<{
    id: number, status: string, reason: string | null, last_error: string | null, handled: boolean, subject: string | null
  }>(
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

t.test('a subject holding the text "\\u0000" is kept as written, and its batch still ends in one pass', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await createMailbox(rt.ctx, rt.ctx.pool, {
    name: 'text', provider: 'imap', imap: { host: '127.0.0.1', user: 'x', password: 'y' }, address: 'incoming+%{key}@example.com'
  })
  // a backslash then "u0000" (text, not a NUL), then an escaped backslash before a real NUL
  const raws = [makeEmail(1, { subject: 'path C:\\u0000 here' }), makeEmail(2, { subject: '=?utf-8?B?' + Buffer.from('a\\\u0000b').toString('base64') + '?=' })]
  const { stored } = await storeFetched(rt.ctx, { id: mailbox.id, name: 'text' }, raws.map((raw, i) => ({ ref: { key: `t${i}` }, raw, complete: true })))
  // a refused group falls back to one statement per email: a trigger counts the statements
  await rt.ctx.pool.query('CREATE TABLE finish_statements (n int)')
  await rt.ctx.pool.query(`CREATE FUNCTION count_finish() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO finish_statements VALUES (1); RETURN NULL; END $$`)
  await rt.ctx.pool.query(`CREATE TRIGGER count_finish AFTER UPDATE ON inbound_emails FOR EACH STATEMENT EXECUTE FUNCTION count_finish()`)
  await handleEmails(rt.ctx, stored)
  const { rows } = await rt.ctx.pool.query<{ status: string, subject: string }>(`SELECT status, parsed->>'subject' AS subject FROM inbound_emails ORDER BY id`)
  t.same(rows.map(r => r.status), ['rejected', 'rejected'])
  t.same(rows.map(r => r.subject), ['path C:\\u0000 here', 'a\\b'], 'the text stays; only the real NUL is dropped')
  const { rows: [{ n }] } = await rt.ctx.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM finish_statements')
  t.equal(n, 2, 'one claim and one end-state statement: no email fell back to a statement of its own')
})

t.test('big emails (raw read in slices) and small ones in one batch: each gets its own issue and files, in order', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await createMailbox(rt.ctx, rt.ctx.pool, {
    name: 'mixed', provider: 'imap', imap: { host: '127.0.0.1', user: 'x', password: 'y' }, address: 'incoming+%{key}@example.com'
  })
  const project = await createProject(rt.ctx.pool, { path: 'acme/mixed' })
  const to = `incoming+${project.slug}-${project.id}-${project.incomingEmailToken}-issue@example.com`
  const payloads = [0, 1, 2].map(i => randomBytes(RAW_SLICE_BYTES + i * 1000))
  const big = (i: number): Buffer => Buffer.from([
    `From: sender${i}@example.org`, `To: ${to}`, `Subject: big ${i}`, `Message-ID: <big-${i}@example.org>`, 'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"', '', '--b', 'Content-Type: text/plain', '', `body of big ${i}`, '--b',
    'Content-Type: application/octet-stream', `Content-Disposition: attachment; filename="file${i}.bin"`, 'Content-Transfer-Encoding: base64', '',
    payloads[i].toString('base64').replace(/.{76}/g, '$&\r\n'), '--b--', ''].join('\r\n'))
  const small = (i: number): Buffer => Buffer.from(`From: s${i}@example.org\r\nTo: ${to}\r\nSubject: small ${i}\r\nMessage-ID: <small-${i}@example.org>\r\n\r\nbody of small ${i}\r\n`)
  const raws = [small(0), big(0), small(1), big(1), big(2), small(2)]
  const { stored } = await storeFetched(rt.ctx, { id: mailbox.id, name: 'mixed' }, raws.map((raw, i) => ({ ref: { key: `m${i}` }, raw, complete: true })))
  await handleEmails(rt.ctx, stored)

  const { rows } = await rt.ctx.pool.query<{ status: string, title: string, description: string, files: string[], sizes: number[] }>(
    `SELECT e.status, i.title, i.description, coalesce(array_agg(a.filename) FILTER (WHERE a.id IS NOT NULL), '{}') AS files,
            coalesce(array_agg(a.size) FILTER (WHERE a.id IS NOT NULL), '{}') AS sizes
     FROM inbound_emails e JOIN issues i ON i.inbound_email_id = e.id LEFT JOIN attachments a ON a.issue_id = i.id
     GROUP BY e.id, e.status, i.title, i.description ORDER BY e.id`)
  t.same(rows.map(r => r.status), Array(6).fill('delivered'))
  t.same(rows.map(r => r.title), ['small 0', 'big 0', 'small 1', 'big 1', 'big 2', 'small 2'], 'in order, each its own')
  t.ok(rows.every((r, i) => r.description.includes(`body of ${r.title}`)), 'each description from its own email')
  t.same(rows.map(r => r.files), [[], ['file0.bin'], [], ['file1.bin'], ['file2.bin'], []])
  t.same(rows.filter(r => r.sizes.length > 0).map(r => r.sizes[0]), payloads.map(p => p.length), 'attachment sizes intact')
  const { rows: [stored1] } = await rt.ctx.pool.query<{ content: Buffer }>(`SELECT content FROM attachments WHERE filename = 'file1.bin'`)
  t.ok(stored1.content.equals(payloads[1]), 'attachment bytes intact across the slices')
})

t.test('a raw read in slices is the stored bytes exactly, whatever its size against the slice', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await createMailbox(rt.ctx, rt.ctx.pool, {
    name: 'slices', provider: 'imap', imap: { host: '127.0.0.1', user: 'x', password: 'y' }, address: 'incoming+%{key}@example.com'
  })
  for (const size of [1, RAW_SLICE_BYTES - 1, RAW_SLICE_BYTES, RAW_SLICE_BYTES + 1, 3 * RAW_SLICE_BYTES + 17]) {
    const raw = randomBytes(size)
    const { stored } = await storeFetched(rt.ctx, { id: mailbox.id, name: 'slices' }, [{ ref: { key: `s${size}` }, raw, complete: true }])
    const read = await readRawInSlices(rt.ctx.pool, stored[0], size)
    t.ok(read.equals(raw), `${size} bytes`)
  }
  await t.rejects(readRawInSlices(rt.ctx.pool, 999999, 10), /no raw message/)
})
