/**
 * The built-in emails of one handled batch are written together: the rows
 * they end with are exactly those of handling them one by one (iids dense per
 * project, each note on its issue, a replay creating nothing), also when two
 * workers handle overlapping batches of one project at the same time.
 */
import t from 'tap'
import { createProject, type Project } from '../../../src/handlers/builtin/projects.ts'
import { handleEmails } from '../../../src/inbound/handle.ts'
import { storeFetched } from '../../../src/inbound/store.ts'
import { makeEmail } from '../../helpers/emails.ts'
import { startTestRuntime, type TestRuntime } from '../../helpers/runtime.ts'
import { quietMailbox } from './fixture.ts'

const WILDCARD = 'incoming+%{key}@example.com'
const at = (key: string): string => WILDCARD.replace('%{key}', key)
const issueKey = (p: Project): string => `${p.slug}-${p.id}-${p.incomingEmailToken}-issue`

let seq = 0
async function store (rt: TestRuntime, mailbox: { id: number, name: string }, raws: Buffer[]): Promise<number[]> {
  const { stored } = await storeFetched(rt.ctx, mailbox, raws.map(raw => ({ ref: { key: `batch-${++seq}` }, raw, complete: true })))
  t.equal(stored.length, raws.length, 'all stored')
  return stored
}

async function iidsByProject (rt: TestRuntime): Promise<Map<number, number[]>> {
  const { rows } = await rt.ctx.pool.query<{ project_id: number, iids: number[] }>(
    'SELECT project_id, array_agg(iid ORDER BY iid) AS iids FROM issues GROUP BY project_id')
  return new Map(rows.map(r => [r.project_id, r.iids]))
}

const dense = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1)

t.test('a mixed batch over three projects: exact rows, dense iids, notes on their issues, a replay creates nothing', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await quietMailbox(rt, 'mixed', WILDCARD)
  const projects: Project[] = []
  // one after another: ids in this order
  for (const path of ['acme/one', 'acme/two', 'acme/three']) projects.push(await createProject(rt.ctx.pool, { path, address: WILDCARD }))
  const newIssue = (i: number, p: Project): Buffer => makeEmail(i, { to: at(issueKey(p)), subject: `issue ${p.path} ${i}`, body: `about ${i}\r\n` })

  // a first batch: 3, 2 and 4 issues, interleaved
  const first = [0, 1, 2, 0, 2, 1, 2, 0, 2].map((p, i) => newIssue(i, projects[p]))
  const firstIds = await store(rt, mailbox, first)
  await handleEmails(rt.ctx, firstIds)
  t.same(await iidsByProject(rt), new Map([[projects[0].id, dense(3)], [projects[1].id, dense(2)], [projects[2].id, dense(4)]]))
  const { rows: before } = await rt.ctx.pool.query<{ id: number, title: string, reply_key: string }>('SELECT id, title, reply_key FROM issues ORDER BY id')
  const byTitle = new Map(before.map(r => [r.title, r]))
  const replyTo = (title: string, n: number): Buffer =>
    makeEmail(100 + n, { to: at(byTitle.get(title)?.reply_key ?? ''), subject: `Re: ${title}`, body: `reply ${n} to ${title}\r\n` })

  // the second batch: new issues, replies, a note on an issue this very batch creates, a rejection, and a replayed email
  const second = [
    newIssue(20, projects[0]), // acme/one #4
    replyTo('issue acme/one 0', 1),
    newIssue(21, projects[1]), // acme/two #3
    makeEmail(22, { to: at(`${projects[2].slug}-${projects[2].id}-wrongtoken-issue`), subject: 'wrong token' }),
    replyTo('issue acme/three 4', 2),
    newIssue(23, projects[2]), // acme/three #5
    makeEmail(24, { to: at(`${issueKey(projects[0])}-4`), subject: 'on #4', body: 'a note on the issue made just before\r\n' }),
    newIssue(25, projects[0]), // acme/one #5
    replyTo('issue acme/two 5', 3)
  ]
  const secondIds = await store(rt, mailbox, second)
  const replayed = firstIds[4]
  const { rows: [original] } = await rt.ctx.pool.query('SELECT result FROM inbound_emails WHERE id = $1', [replayed])
  await rt.ctx.pool.query(`UPDATE inbound_emails SET status = 'received' WHERE id = $1`, [replayed])
  await handleEmails(rt.ctx, [...secondIds, replayed])

  t.same(await iidsByProject(rt), new Map([[projects[0].id, dense(5)], [projects[1].id, dense(3)], [projects[2].id, dense(5)]]), 'iids dense per project')
  const { rows: last } = await rt.ctx.pool.query<{ last_issue_iid: number }>('SELECT last_issue_iid FROM projects ORDER BY id')
  t.same(last.map(r => r.last_issue_iid), [5, 3, 5], 'each project counted exactly its issues')
  const { rows: emails } = await rt.ctx.pool.query<{ status: string, reason: string | null, handler: string | null, result: any }>(
    'SELECT status, reason, handler, result FROM inbound_emails WHERE id = ANY($1) ORDER BY id', [secondIds])
  t.same(emails.map(e => e.status), ['delivered', 'delivered', 'delivered', 'rejected', 'delivered', 'delivered', 'delivered', 'delivered', 'delivered'])
  t.equal(emails[3].reason, 'project_not_found')
  t.same(emails.map(e => e.handler), ['create_issue', 'create_note', 'create_issue', null, 'create_note', 'create_issue', 'create_note', 'create_issue', 'create_note'])
  t.same([0, 2, 5, 7].map(i => emails[i].result.iid), [4, 3, 5, 5], 'new issues numbered in arrival order')

  const { rows: notes } = await rt.ctx.pool.query<{ email: number, title: string, iid: number, body: string, reply_key: string }>(
    `SELECT n.inbound_email_id AS email, i.title, i.iid, n.body, n.reply_key FROM notes n JOIN issues i ON i.id = n.issue_id ORDER BY n.inbound_email_id`)
  t.same(notes.map(n => [n.email, n.title]), [
    [secondIds[1], 'issue acme/one 0'], [secondIds[4], 'issue acme/three 4'], [secondIds[6], 'issue acme/one 20'], [secondIds[8], 'issue acme/two 5']
  ], 'each note on the issue its email names')
  t.match(notes[0].body, 'reply 1 to issue acme/one 0')
  for (const [n, i] of [[0, 1], [1, 4], [2, 6], [3, 8]]) t.equal(emails[i].result.replyKey, notes[n].reply_key, 'the outcome names its note')

  const { rows: [again] } = await rt.ctx.pool.query('SELECT status, result FROM inbound_emails WHERE id = $1', [replayed])
  t.equal(again.status, 'delivered')
  const { issueId, iid, replyKey } = original.result
  t.match(again.result, { issueId, iid, replyKey }, 'the replay returns the issue it made the first time')
  t.equal(again.result.created, false)
  const { rows: [counts] } = await rt.ctx.pool.query('SELECT (SELECT count(*) FROM issues)::int AS issues, (SELECT count(*) FROM notes)::int AS notes')
  t.same(counts, { issues: 13, notes: 4 }, 'nothing created twice')

  // the whole batch once more: every effect is found, none made
  await rt.ctx.pool.query(`UPDATE inbound_emails SET status = 'received'`)
  await handleEmails(rt.ctx, [...firstIds, ...secondIds])
  const { rows: [recount] } = await rt.ctx.pool.query('SELECT (SELECT count(*) FROM issues)::int AS issues, (SELECT count(*) FROM notes)::int AS notes')
  t.same(recount, { issues: 13, notes: 4 }, 'a replayed batch creates nothing')
  t.same(await iidsByProject(rt), new Map([[projects[0].id, dense(5)], [projects[1].id, dense(3)], [projects[2].id, dense(5)]]))
})

t.test('two workers handling overlapping batches of one project at once: iids dense and unique, one issue per email', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await quietMailbox(rt, 'overlap', WILDCARD)
  const project = await createProject(rt.ctx.pool, { path: 'acme/busy', address: WILDCARD })
  const ids = await store(rt, mailbox, Array.from({ length: 90 }, (_, i) => makeEmail(i, { to: at(issueKey(project)), subject: `busy ${i}` })))
  // three workers at once: [0, 50), [30, 80) and [60, 90)
  await Promise.all([ids.slice(0, 50), ids.slice(30, 80), ids.slice(60)].map(async batch => await handleEmails(rt.ctx, batch)))

  t.same(await iidsByProject(rt), new Map([[project.id, dense(90)]]), 'iids 1..90, no gap, no duplicate')
  const { rows } = await rt.ctx.pool.query<{ status: string, iid: number, issues: number }>(
    `SELECT e.status, (e.result->>'iid')::int AS iid, (SELECT count(*) FROM issues i WHERE i.inbound_email_id = e.id)::int AS issues
     FROM inbound_emails e ORDER BY e.id`)
  t.ok(rows.every(r => r.status === 'delivered' && r.issues === 1), 'every email delivered, with exactly one issue')
  t.same(rows.map(r => r.iid).sort((a, b) => a - b), dense(90), 'each outcome names its own issue')
})

t.test('a write the database refuses fails that email alone: the others of its batch are written, iids still dense', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await quietMailbox(rt, 'refusing', WILDCARD)
  const project = await createProject(rt.ctx.pool, { path: 'acme/picky', address: WILDCARD })
  // a trigger stands in for any row the database refuses
  await rt.ctx.pool.query(`CREATE FUNCTION refuse_issue() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.title = 'refuse me' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`)
  await rt.ctx.pool.query('CREATE TRIGGER refuse_issue BEFORE INSERT ON issues FOR EACH ROW EXECUTE FUNCTION refuse_issue()')
  const ids = await store(rt, mailbox, ['first', 'refuse me', 'third'].map((subject, i) => makeEmail(i, { to: at(issueKey(project)), subject })))
  await handleEmails(rt.ctx, ids)

  const { rows } = await rt.ctx.pool.query<{ status: string, iid: number | null, last_error: string | null }>(
    `SELECT status, (result->>'iid')::int AS iid, last_error FROM inbound_emails ORDER BY id`)
  t.same(rows.map(r => [r.status, r.iid]), [['delivered', 1], ['failed', null], ['delivered', 2]])
  t.match(rows[1].last_error, /refused by the test/)
  t.same(await iidsByProject(rt), new Map([[project.id, dense(2)]]), 'the refused email took no iid')
})
