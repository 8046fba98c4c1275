/**
 * A sync fetches a session's worth of batches itself (its first batch
 * committed alone, so that handling can start on it) and queues the rest as
 * mailbox-fetch jobs of 25 (stored by the fetch workers, here run by hand).
 */
import t from 'tap'
import { syncMailbox } from '../../src/ingestion/sync.ts'
import { fetchBatches, type FetchJob } from '../../src/ingestion/fetch.ts'
import { BATCHES_PER_COMMIT, BATCH_COUNT } from '../../src/ingestion/batch.ts'
import { HANDLE_JOB_EMAILS } from '../../src/inbound/store.ts'
import { makeEmail } from '../helpers/emails.ts'
import { imapFixture, imapMailbox } from './imap-fixture.ts'
import { countRows } from '../helpers/rows.ts'

t.test('260 new messages: 200 stored by the sync (25 first, then 175), 60 queued as jobs of 25, 25 and 10, nothing twice', async t => {
  const { imap, rt } = await imapFixture(t, { role: 'web' })
  const u = imap.addUser()
  await imap.appendMany(u.user, 'INBOX', Array.from({ length: 260 }, (_, i) => makeEmail(i)))
  const { body } = await rt.api('POST', '/api/v1/mailboxes', imapMailbox(imap, u))
  const outcome = await syncMailbox(rt.ctx, { mailboxId: body.id, reason: 'manual' })
  t.same(outcome, { listed: 260, stored: BATCHES_PER_COMMIT * BATCH_COUNT, queuedBatches: 3 })
  // received_at is its transaction's start: the first batch was committed alone, so handling could start on it
  const { rows: commits } = await rt.ctx.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM inbound_emails GROUP BY received_at ORDER BY min(id)')
  t.same(commits.map(c => c.n), [BATCH_COUNT, (BATCHES_PER_COMMIT - 1) * BATCH_COUNT], 'the sync committed 25, then 175')
  // a handle job per commit and HANDLE_JOB_EMAILS, not one per email
  const { rows: handleJobs } = await rt.ctx.pool.query<{ n: number }>(
    `SELECT jsonb_array_length(data->'emailIds')::int AS n FROM mailslot_boss.job WHERE name = 'email-handle' ORDER BY n DESC`)
  t.same(handleJobs.map(j => j.n), [HANDLE_JOB_EMAILS, 175 - HANDLE_JOB_EMAILS, 25], 'handle jobs of 100 and 75 for the 175, one of 25')
  const { rows } = await rt.ctx.pool.query<{ id: string, data: FetchJob['data'] }>(
    `SELECT id, data FROM mailslot_boss.job WHERE name = 'mailbox-fetch' AND state = 'created' ORDER BY created_on, id`)
  t.same(rows.map(r => r.data.refs.length).sort((a, b) => b - a), [25, 25, 10])
  await fetchBatches(rt.ctx, rows.map(r => ({ id: r.id, data: r.data })))
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 260)
  t.equal(await countRows(rt, 'SELECT count(DISTINCT provider_key)::int AS n FROM inbound_emails'), 260)
})
