/**
 * A backlog of email-handle jobs (replays, retries, a restart) is worked
 * without pauses: a worker that finishes a job takes the next at once rather
 * than waiting for pg-boss's next poll (every second here), which would
 * hold each worker a poll interval after every one-email job.
 */
import t from 'tap'
import { BOSS_SCHEMA } from '../../src/queue/boss.ts'
import { storeFetched } from '../../src/inbound/store.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { HANDLE_CONCURRENCY } from '../../src/runtime/workers.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startTestRuntime } from '../helpers/runtime.ts'
import { waitFor } from '../helpers/wait.ts'

const JOBS = 5 * HANDLE_CONCURRENCY
const POLL_SECONDS = 10

t.test(`${JOBS} one-email jobs queued at once start within one poll interval`, async t => {
  // stored with no worker running; their own job is dropped, and each gets a one-email job as a replay would
  const web = await startTestRuntime(t, { role: 'web' })
  const mailbox = await createMailbox(web.ctx, web.ctx.pool, {
    name: 'backlog', provider: 'imap', imap: { host: '127.0.0.1', user: 'x', password: 'y' }, address: 'incoming+%{key}@example.com'
  })
  const { stored } = await storeFetched(web.ctx, { id: mailbox.id, name: 'backlog' },
    Array.from({ length: JOBS }, (_, i) => ({ ref: { key: `b${i}` }, raw: makeEmail(i), complete: true })))
  await web.ctx.pool.query(`DELETE FROM ${BOSS_SCHEMA}.job WHERE name = 'email-handle'`)
  await web.ctx.boss.insert('email-handle', stored.map(id => ({ data: { emailIds: [id] } })))

  const worker = await startTestRuntime(t, { databaseUrl: web.databaseUrl, env: web.env, workers: { pollSeconds: POLL_SECONDS } })
  await waitFor(async () => {
    const { rows: [r] } = await worker.ctx.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbound_emails WHERE status = 'rejected'`)
    return r.n === JOBS
  }, `${JOBS} emails handled`)
  const { rows: [spread] } = await worker.ctx.pool.query<{ seconds: number }>(
    `SELECT extract(epoch FROM max(started_on) - min(started_on))::float AS seconds FROM ${BOSS_SCHEMA}.job WHERE name = 'email-handle'`)
  t.ok(spread.seconds < POLL_SECONDS / 2, `the jobs started ${spread.seconds.toFixed(2)} s apart at most, well under one poll interval`)
})
