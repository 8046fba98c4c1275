/**
 * mailbox-fetch jobs worked several at a time: one provider session per
 * mailbox for its batches, and each job settled on its own.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { combineJobs, fetchBatches, type FetchJob } from '../../src/ingestion/fetch.ts'
import { BATCHES_PER_COMMIT, BATCH_BYTES, groupWithin, refSize } from '../../src/ingestion/batch.ts'
import { loadMailbox } from '../../src/mailboxes/repository.ts'
import { ImapProvider, SMALL_BYTES } from '../../src/providers/imap/provider.ts'
import { makeEmail } from '../helpers/emails.ts'
import { imapFixture, imapMailbox } from './imap-fixture.ts'
import { countRows } from '../helpers/rows.ts'
import { waitFor } from '../helpers/wait.ts'

t.test('batches of two mailboxes: one session each, every job completed, each message stored once', async t => {
  const { imap, rt } = await imapFixture(t, { role: 'web' })
  const jobs: FetchJob[] = []
  const users = [imap.addUser(), imap.addUser()]
  for (const [n, u] of users.entries()) {
    await imap.appendMany(u.user, 'INBOX', Array.from({ length: 60 }, (_, i) => makeEmail(100 * n + i)))
    const { body } = await rt.api('POST', '/api/v1/mailboxes', imapMailbox(imap, u))
    const mailbox = (await loadMailbox(rt.ctx.pool, rt.ctx.keyring, body.id))!
    const lister = new ImapProvider(mailbox.spec.imap!, 'seen')
    const { refs } = await lister.listNew(null)
    await lister.close()
    // the first mailbox in 12 jobs of 5: more than BATCHES_PER_COMMIT, still one session
    for (const [i, b] of groupWithin(refs, refSize, n === 0 ? 5 : 25, 1e9).entries()) jobs.push({ id: `job-${n}-${i}`, data: { mailboxId: mailbox.id, refs: b as never } })
  }
  const loginsBefore = users.map(u => logins(imap.logPath, u.user))
  const results = await fetchBatches(rt.ctx, jobs)
  t.same(results.map(r => r.status), jobs.map(() => 'completed'))
  t.same(results.map(r => r.id).sort(), jobs.map(j => j.id).sort(), 'one result per job')
  t.same(users.map((u, i) => logins(imap.logPath, u.user) - loginsBefore[i]), [1, 1], '12 and 3 batches, one login per mailbox')
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 120)
  for (const u of users) t.equal((await imap.seen(u.user, 'INBOX')).length, 60)
})

t.test('a mailbox whose server is gone: its jobs fail (to be retried), the other mailbox\'s complete', async t => {
  const { imap, rt } = await imapFixture(t, { role: 'web' })
  const u = imap.addUser()
  await imap.appendMany(u.user, 'INBOX', Array.from({ length: 30 }, (_, i) => makeEmail(i)))
  const good = (await rt.api('POST', '/api/v1/mailboxes', imapMailbox(imap, u))).body
  const gone = (await rt.api('POST', '/api/v1/mailboxes', { name: 'gone', provider: 'imap', imap: { host: '127.0.0.1', port: 9, tls: 'none', user: 'x', password: 'y', connectTimeoutSeconds: 2 } })).body
  const mailbox = (await loadMailbox(rt.ctx.pool, rt.ctx.keyring, good.id))!
  const lister = new ImapProvider(mailbox.spec.imap!, 'seen')
  const { refs } = await lister.listNew(null)
  await lister.close()
  const fakeRefs = [{ key: '1:1', uid: 1, uidValidity: '1', size: 10 }]
  const jobs: FetchJob[] = [
    { id: 'gone-1', data: { mailboxId: gone.id, refs: fakeRefs } },
    { id: 'good-1', data: { mailboxId: good.id, refs: refs.slice(0, 25) as never } },
    { id: 'gone-2', data: { mailboxId: gone.id, refs: fakeRefs } },
    { id: 'good-2', data: { mailboxId: good.id, refs: refs.slice(25) as never } }
  ]
  const results = new Map((await fetchBatches(rt.ctx, jobs)).map(r => [r.id, r]))
  t.equal(results.get('good-1')?.status, 'completed')
  t.equal(results.get('good-2')?.status, 'completed')
  t.equal(results.get('gone-1')?.status, 'failed')
  t.equal(results.get('gone-2')?.status, 'failed')
  t.match(results.get('gone-1')?.output?.error, /ECONNREFUSED|connection/i)
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 30)
  const health = (await rt.api('GET', '/api/v1/mailboxes/gone')).body.health
  t.equal(health.state, 'failing', 'the failure is in the mailbox health')
})

t.test('a batch refused by the database: the ones before it are done, it and the rest are neither stored nor marked (the next download went ahead)', async t => {
  const { imap, rt } = await imapFixture(t, { role: 'web' })
  const u = imap.addUser()
  await imap.appendMany(u.user, 'INBOX', Array.from({ length: 60 }, (_, i) => makeEmail(i)))
  const { body } = await rt.api('POST', '/api/v1/mailboxes', imapMailbox(imap, u))
  const mailbox = (await loadMailbox(rt.ctx.pool, rt.ctx.keyring, body.id))!
  const lister = new ImapProvider(mailbox.spec.imap!, 'seen')
  const { refs } = await lister.listNew(null)
  await lister.close()
  // 30 jobs of 2: committed 8 jobs (16 messages) at a time; the second commit is refused
  const jobs: FetchJob[] = groupWithin(refs, refSize, 2, 1e9).map((b, i) => ({ id: `job-${i}`, data: { mailboxId: mailbox.id, refs: b as never } }))
  await rt.ctx.pool.query(`CREATE FUNCTION refuse_second() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF split_part(NEW.provider_key, ':', 2)::int BETWEEN 17 AND 32 THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`)
  await rt.ctx.pool.query('CREATE TRIGGER refuse_second BEFORE INSERT ON inbound_emails FOR EACH ROW EXECUTE FUNCTION refuse_second()')

  const results = await fetchBatches(rt.ctx, jobs)
  t.same(results.map(r => r.status), [...Array(8).fill('completed'), ...Array(22).fill('failed')])
  t.match(results[8].output?.error, /refused by the test/)
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 16, 'the first commit only')
  const seen = await imap.seen(u.user, 'INBOX')
  t.same(seen, Array.from({ length: 16 }, (_, i) => i + 1), 'only what was committed is marked')
  // the lister's session (no bodies), then the fetch's
  t.same(await waitFor(async () => { const b = sessionBodies(imap.logPath, u.user); return b.length === 2 ? b : undefined }, 'the fetch session logged out'), [0, 48],
    'one fetch session, which had downloaded the third batch while the second was being stored')
})

/** The messages each ended session of a user downloaded whole, in order, from Dovecot's log. */
function sessionBodies (logPath: string, user: string): number[] {
  return readFileSync(logPath, 'utf8').split('\n')
    .filter(line => line.includes(`imap(${user})`) && line.includes('Logged out'))
    .map(line => Number(/body_count=(\d+)/.exec(line)?.[1]))
}

/** IMAP logins of a user so far, from Dovecot's log. */
function logins (logPath: string, user: string): number {
  return readFileSync(logPath, 'utf8').split('\n').filter(line => line.includes(`Login: user=<${user}>`)).length
}

t.test('a worker\'s jobs of one mailbox are combined up to BATCHES_PER_COMMIT and BATCH_BYTES; a job over it travels alone', async t => {
  const job = (id: string, sizes: number[]): FetchJob => ({ id, data: { mailboxId: 1, refs: sizes.map((size, i) => ({ key: `${id}:${i}`, size })) } })
  const small = Array.from({ length: 8 }, (_, i) => job(`s${i}`, Array(25).fill(SMALL_BYTES)))
  t.same(combineJobs(small).map(g => g.map(j => j.id)), [small.map(j => j.id)], 'eight batches of small messages: one')
  const ten = [...small, job('s8', [1]), job('s9', [1])]
  t.same(combineJobs(ten).map(g => g.length), [BATCHES_PER_COMMIT, 2], 'at most BATCHES_PER_COMMIT in one, however small')
  const big = job('big', [BATCH_BYTES + 1])
  const half = job('half', [BATCH_BYTES / 2])
  t.same(combineJobs([small[0], big, half, half, small[1]]).map(g => g.map(j => j.id)), [['s0'], ['big'], ['half', 'half'], ['s1']])
})
