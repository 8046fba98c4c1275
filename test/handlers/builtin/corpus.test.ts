// The built-in handler's effects on GitLab's fixture emails, as MANIFEST.md
// describes them (column "effect"), with projects, issues and reply keys
// seeded to match the fixtures.
import t from 'tap'
import { startTestRuntime } from '../../helpers/runtime.ts'
import { createProject } from '../../../src/handlers/builtin/projects.ts'
import { handleEmails } from '../../../src/inbound/handle.ts'
import { loadRaw, NOTE_ON_ISSUABLE_REWRITE, REPLY_KEY, UNSUBSCRIBE_REWRITE, WILDCARDS } from '../../helpers/corpus.ts'
import { emailRow, ingest, quietMailbox } from './fixture.ts'

const issuesOf = async (rt: { api: (m: string, u: string) => Promise<{ body: any }> }, projectId = 42): Promise<any[]> =>
  (await rt.api('GET', `/api/v1/projects/${projectId}/issues`)).body.items

t.test('issues and replies (project gitlabhq/gitlabhq, id 42, issue #7)', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  await createProject(rt.ctx.pool, { id: 42, path: 'gitlabhq/gitlabhq', incomingEmailToken: 'auth_token', address: WILDCARDS.incoming })
  await rt.ctx.pool.query(`INSERT INTO issues (project_id, iid, title, description, author, reply_key) VALUES (42, 7, 'Seeded', '', 'jake@example.com', $1)`, [REPLY_KEY])
  await rt.ctx.pool.query('UPDATE projects SET last_issue_iid = 7 WHERE id = 42')
  const incoming = await quietMailbox(rt, 'incoming', WILDCARDS.incoming)
  const reply = await quietMailbox(rt, 'reply', WILDCARDS.reply)

  t.test('valid_new_issue: issue titled by the subject, body and attachment kept', async t => {
    const e = await ingest(rt, incoming, loadRaw('valid_new_issue.eml'))
    t.equal(e.status, 'delivered')
    t.equal(e.handler, 'create_issue')
    const issue = (await issuesOf(rt)).find(i => i.iid === e.result.iid)
    t.equal(issue.title, 'New Issue by email')
    t.match(issue.description, 'reply by email')
    t.equal(issue.serviceDesk, false)
    t.match(issue.replyAddress, /^incoming\+[0-9a-f]{32}@appmail\.adventuretime\.ooo$/)
    t.equal(issue.replyAddress, `incoming+${issue.replyKey as string}@appmail.adventuretime.ooo`)
    t.same(issue.attachments, [], 'this fixture has no attachment')
    // replaying the same email creates nothing new
    const before = (await issuesOf(rt)).length
    await rt.ctx.pool.query(`UPDATE inbound_emails SET status = 'received' WHERE id = $1`, [e.id])
    await handleEmails(rt.ctx, [e.id])
    t.equal((await issuesOf(rt)).length, before, 'a replay creates no second issue')
    t.equal((await emailRow(rt, e.id)).result.issueId, e.result.issueId, 'the replay reports the same issue')
  })

  t.test('valid_new_issue_empty and _with_only_quotes', async t => {
    const empty = await ingest(rt, incoming, loadRaw('valid_new_issue_empty.eml'))
    t.equal(empty.status, 'delivered')
    const issues = await issuesOf(rt)
    t.equal(issues.find(i => i.iid === empty.result.iid).description, '')
    const quotes = await ingest(rt, incoming, loadRaw('valid_new_issue_with_only_quotes.eml'))
    t.match((await issuesOf(rt)).find(i => i.iid === quotes.result.iid).description, 'This email has been forwarded without new content.')
  })

  t.test('wrong tokens are project_not_found and create nothing', async t => {
    const before = (await issuesOf(rt)).length
    for (const f of ['wrong_issue_incoming_email_token.eml', 'wrong_authentication_token.eml']) {
      const e = await ingest(rt, incoming, loadRaw(f))
      t.equal(e.status, 'rejected', f)
      t.equal(e.reason, 'project_not_found', f)
    }
    t.equal((await issuesOf(rt)).length, before)
  })

  t.test('valid_reply: a note on the issue, without the quote', async t => {
    const e = await ingest(rt, reply, loadRaw('valid_reply.eml'))
    t.equal(e.status, 'delivered')
    t.equal(e.handler, 'create_note')
    const issue = (await issuesOf(rt)).find(i => i.iid === 7)
    const note = issue.notes.find((n: { id: number }) => n.id === e.result.noteId)
    t.match(note.body, 'I could not disagree more.')
    t.notMatch(note.body, /^>/m, 'no quoted lines')
    t.match(note.replyKey, /^[0-9a-f]{32}$/)
    // a reply to the note's own reply key lands on the same issue
    const again = await ingest(rt, reply, Buffer.from(loadRaw('valid_reply.eml').toString('latin1').replaceAll(REPLY_KEY, note.replyKey).replace(/Message-ID: <[^>]+>/i, 'Message-ID: <second@example.com>'), 'latin1'))
    t.equal(again.result?.issueId, issue.id)
  })

  t.test('attachments: stored and linked from the note; S/MIME signature parts dropped', async t => {
    const bricks = await ingest(rt, reply, loadRaw('attachment.eml', { rewrite: [['<TO>', `<reply+${REPLY_KEY}@appmail.adventuretime.ooo>`]] }))
    t.equal(bricks.status, 'delivered', JSON.stringify(bricks))
    let issue = (await issuesOf(rt)).find(i => i.iid === 7)
    t.same(issue.notes.find((n: { id: number }) => n.id === bricks.result.noteId).attachments.map((a: { filename: string }) => a.filename), ['bricks.png'])

    const signedKey = 'c034670b1623e617e15a3df64223d363'
    await rt.ctx.pool.query(`INSERT INTO issues (project_id, iid, title, description, author, reply_key) VALUES (42, 100, 'Signed', '', 'x@example.com', $1)`, [signedKey])
    const gmail = await quietMailbox(rt, 'gmail', 'dlouzan.dummy+%{key}@gmail.com')
    const signed = await ingest(rt, gmail, loadRaw('valid_reply_signed_smime.eml'))
    t.equal(signed.status, 'delivered', JSON.stringify(signed))
    issue = (await issuesOf(rt)).find(i => i.iid === 100)
    const files = issue.notes[0].attachments.map((a: { filename: string }) => a.filename)
    t.same(files, ['gitlab_logo.png'], 'the PNG is kept, smime.p7s is not')
    const { rows } = await rt.ctx.pool.query(`SELECT substring(content from 1 for 8) AS head FROM attachments WHERE filename = 'gitlab_logo.png'`)
    t.same(rows[0].head, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'PNG bytes intact')
  })

  t.test('valid_note_on_issuable: a note on #7, quotes kept', async t => {
    const e = await ingest(rt, incoming, loadRaw('valid_note_on_issuable.eml', { rewrite: [NOTE_ON_ISSUABLE_REWRITE] }))
    t.equal(e.status, 'delivered', JSON.stringify(e))
    t.equal(e.result.iid, 7)
  })

  t.test('unsubscribe by the reply key', async t => {
    const e = await ingest(rt, reply, loadRaw('valid_reply.eml', { rewrite: [UNSUBSCRIBE_REWRITE] }))
    t.equal(e.handler, 'unsubscribe')
    t.equal(e.status, 'delivered')
    const issue = (await issuesOf(rt)).find(i => i.iid === 7)
    t.same(issue.unsubscribed, [e.result.address])
  })

  t.test('merge requests are unsupported; auto-replies rejected; unknown reply keys', async t => {
    t.equal((await ingest(rt, incoming, loadRaw('valid_new_merge_request.eml'))).reason, 'unsupported')
    t.equal((await ingest(rt, reply, loadRaw('auto_reply.eml'))).reason, 'auto_generated')
    const unknown = await ingest(rt, reply, Buffer.from(loadRaw('valid_reply.eml').toString('latin1').replaceAll(REPLY_KEY, 'ffffffffffffffffffffffffffffffff').replace(/Message-ID: <[^>]+>/i, 'Message-ID: <third@example.com>'), 'latin1'))
    t.equal(unknown.reason, 'issue_not_found')
  })
})

t.test('Service Desk (project email/test, id 42)', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  await createProject(rt.ctx.pool, { id: 42, path: 'email/test', serviceDesk: true, serviceDeskKey: 'mykey', address: WILDCARDS.incoming })
  const incoming = await quietMailbox(rt, 'incoming', WILDCARDS.incoming)

  const first = await ingest(rt, incoming, loadRaw('service_desk.eml'))
  t.equal(first.status, 'delivered')
  t.equal(first.handler, 'service_desk')
  let issue = (await issuesOf(rt)).find(i => i.id === first.result.issueId)
  t.equal(issue.title, 'The message subject! @all')
  t.equal(issue.serviceDesk, true)
  t.equal(issue.author, 'jake@adventuretime.ooo')

  const reply = await ingest(rt, incoming, loadRaw('service_desk_reply.eml'))
  t.equal(reply.status, 'delivered')
  t.equal(reply.result.issueId, first.result.issueId, 'the reply threads onto the issue by In-Reply-To')
  issue = (await issuesOf(rt)).find(i => i.id === first.result.issueId)
  t.match(issue.notes[0].body, 'Service desk reply!')

  const legacy = await ingest(rt, incoming, loadRaw('service_desk_legacy.eml'))
  t.equal(legacy.handler, 'service_desk')
  t.not(legacy.result.issueId, first.result.issueId, 'a new thread is a new issue')
  t.equal((await issuesOf(rt)).length, 2)
})
