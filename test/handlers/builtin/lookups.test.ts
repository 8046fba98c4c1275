// A project that does not exist rejects the email (project_not_found); a
// project lookup that fails is an error, never that permanent rejection.
import t from 'tap'
import pg from 'pg'
import { startTestRuntime, type TestRuntime } from '../../helpers/runtime.ts'
import { createProject, getProject } from '../../../src/handlers/builtin/projects.ts'
import { handleEmails } from '../../../src/inbound/handle.ts'
import { makeEmail } from '../../helpers/emails.ts'
import { emailRow, ingest } from './fixture.ts'

/** A mailbox bound to one project's Service Desk, that no provider polls. */
async function deskMailbox (rt: TestRuntime, name: string, projectId: number): Promise<{ id: number, name: string }> {
  const res = await rt.api('POST', '/api/v1/mailboxes', {
    name, provider: 'imap', imap: { host: '127.0.0.1', port: 9, tls: 'none', user: 'x', password: 'y' }, serviceDeskProjectId: projectId
  })
  if (res.status !== 201) throw new Error(res.text)
  return { id: res.body.id, name }
}

t.test('Service Desk mailbox bound to a project: missing, unreadable, then readable again', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })

  t.test('a project that does not exist: rejected project_not_found', async t => {
    t.equal(await getProject(rt.ctx.pool, 987654), null)
    const e = await ingest(rt, await deskMailbox(rt, 'desk-missing', 987654), makeEmail(1, { to: 'help@shop.example', subject: 'Hello?' }))
    t.equal(e.status, 'rejected')
    t.equal(e.reason, 'project_not_found')
  })

  t.test('a project row that cannot be read: the email fails (replayable), it is not rejected', async t => {
    const project = await createProject(rt.ctx.pool, { path: 'shop/desk', serviceDesk: true })
    const mailbox = await deskMailbox(rt, 'desk-bound', project.id)
    // a virtual column that cannot be computed: reading a whole project row fails, the custom-address query does not
    await rt.ctx.pool.query('ALTER TABLE projects ADD COLUMN unreadable int GENERATED ALWAYS AS (1 / (id - id)) VIRTUAL')
    await t.rejects(getProject(rt.ctx.pool, project.id), /division by zero/)
    const e = await ingest(rt, mailbox, makeEmail(2, { to: 'help@shop.example', subject: 'Where is my order?' }))
    t.equal(e.status, 'failed')
    t.equal(e.reason, null)
    const { rows } = await rt.ctx.pool.query<{ last_error: string }>('SELECT last_error FROM inbound_emails WHERE id = $1', [e.id])
    t.match(rows[0].last_error, /division by zero/)
    const line = rt.logs().split('\n').filter(l => l.includes('email handling failed'))
      .map(l => JSON.parse(l)).find(l => l.emailId === e.id)
    t.equal(line?.mailbox, 'desk-bound', 'logged with the mailbox name')
    t.match(line?.err, { type: 'DatabaseError', message: /division by zero/ }, 'logged as { err }')

    await rt.ctx.pool.query('ALTER TABLE projects DROP COLUMN unreadable')
    await rt.ctx.pool.query(`UPDATE inbound_emails SET status = 'received' WHERE id = $1`, [e.id])
    await handleEmails(rt.ctx, [e.id])
    const replayed = await emailRow(rt, e.id)
    t.equal(replayed.status, 'delivered', 'handled once the project can be read')
    t.equal(replayed.handler, 'service_desk')
    t.equal(replayed.result.projectId, project.id)
  })
})

t.test('getProject on a pool that cannot query rejects instead of answering null', async t => {
  const rt = await startTestRuntime(t, { role: 'web' })
  const ended = new pg.Pool({ connectionString: rt.databaseUrl })
  await ended.end()
  await t.rejects(getProject(ended, 1))
})
