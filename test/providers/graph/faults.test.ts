/**
 * Graph misbehaving while a poll-mode mailbox is fetched: answering 503 for
 * a while (the mailbox shows `failing` with the error, then recovers), and
 * answering slowly (handled once, never counted a failure).
 */
import t, { type Test } from 'tap'
import { makeEmail } from '../../helpers/emails.ts'
import { waitFor } from '../../helpers/wait.ts'
import { graphFixture, graphMailbox, handledOnce, view } from '../../helpers/graph-fixture.ts'
import { countRows, finishedCount } from '../../helpers/rows.ts'

const poll = async (rt: { api: (m: string, u: string) => Promise<{ status: number }> }, name: string): Promise<number> =>
  (await rt.api('POST', `/api/v1/mailboxes/${name}/poll`)).status

type Fixture = Awaited<ReturnType<typeof graphFixture>>
type Box = { messages: (folder: string) => Array<{ isRead: boolean }> }

/** The mailbox created through the API, and its health once it shows `failing`. */
async function createdThenFailing (t: Test, rt: Fixture['rt'], spec: Record<string, unknown>): Promise<{ name: string, failing: any }> {
  const name = spec.name as string
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201)
  const failing = await waitFor(async () => {
    const h = (await view(rt, name)).health
    return h.state === 'failing' ? h : undefined
  }, 'the mailbox failing', 30_000)
  return { name, failing }
}

/** After the fault is cleared and a poll asked: every message handled once and read, health ok with no error. */
async function recovers (t: Test, rt: Fixture['rt'], box: Box, name: string, count: number): Promise<any> {
  t.equal(await poll(rt, name), 202)
  await waitFor(async () => (await finishedCount(rt, name)) === count, `${count} handled`, 30_000)
  await waitFor(async () => box.messages('inbox').filter(m => m.isRead).length === count, 'all marked read', 10_000)
  await handledOnce(t, rt, name, count)
  const ok = await waitFor(async () => {
    const h = (await view(rt, name)).health
    return h.state === 'ok' ? h : undefined
  }, 'mailbox health ok', 10_000)
  t.equal(ok.lastError, null)
  return ok
}

t.test('Graph answering 503 to every download: failing with the error meanwhile, then each message handled once', async t => {
  const { fake, rt } = await graphFixture(t)
  const box = fake.addMailbox('olga@contoso.example')
  for (let i = 0; i < 30; i++) box.addMessage('Inbox', makeEmail(i))
  // a short Retry-After keeps the SDK's own retries (3 per request) quick
  const outage = fake.faults.inject({ path: '/$value', status: 503, retryAfterSeconds: 0.2, times: 10_000 })
  const spec = graphMailbox(fake, box, { mode: 'poll', pollIntervalSeconds: 3600 })
  const { name, failing } = await createdThenFailing(t, rt, spec)
  t.match(failing.lastError, /^Graph answered 503/, `the error is shown: ${String(failing.lastError)}`)
  t.ok(outage.hits >= 4, `the SDK retried before giving up (${outage.hits} answers 503)`)
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 0, 'nothing stored from a failed download')
  t.equal(box.messages('inbox').filter(m => m.isRead).length, 0, 'nothing marked read')
  t.equal((await rt.api('GET', '/healthz')).status, 200, 'the process answers meanwhile')

  fake.faults.clear()
  // the failed sync backs off for the poll interval: a poll asks for the next one now
  const ok = await recovers(t, rt, box, name, 30)
  t.equal(ok.consecutiveFailures, 0)
})

t.test('Graph answering slowly, with polls asked meanwhile: each message handled once, never failing', async t => {
  const { fake, rt } = await graphFixture(t)
  const box = fake.addMailbox('piet@contoso.example')
  for (let i = 0; i < 12; i++) box.addMessage('Inbox', makeEmail(i))
  // slower than Graph ever is here, far below the request timeout
  const listing = fake.faults.delay(1500, 1, { path: '/messages/delta' })
  const downloads = fake.faults.delay(1500, 12, { path: '/$value' })
  const spec = graphMailbox(fake, box, { mode: 'poll', pollIntervalSeconds: 3600 })
  const name = spec.name as string
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201)
  // asked again while the slow sync runs: queued behind it, never a second fetch of the same messages
  await waitFor(async () => listing.hits === 1, 'the slow listing under way', 10_000)
  t.equal(await poll(rt, name), 202)
  await waitFor(async () => downloads.hits > 0, 'the slow downloads under way', 10_000)
  t.equal(await poll(rt, name), 202)

  await waitFor(async () => (await finishedCount(rt, name)) === 12, '12 handled', 30_000)
  await waitFor(async () => box.messages('inbox').filter(m => m.isRead).length === 12, 'all marked read', 10_000)
  t.equal(downloads.hits, 12, 'every download was slow')
  await handledOnce(t, rt, name, 12)
  const raws = fake.requests.filter(r => r.path.includes('/$value') && r.mailbox === box.id)
  t.equal(new Set(raws.map(r => r.path)).size, 12, 'each message downloaded')
  const h = (await view(rt, name)).health
  t.equal(h.state, 'ok', 'slow is not failing')
  t.equal(h.consecutiveFailures, 0)
})

t.test('Graph answers hanging past the request timeout: failing with the timeout meanwhile, then each message handled once', async t => {
  const TIMEOUT_MS = 2000
  const { fake, rt } = await graphFixture(t, { workers: { graphRequestTimeoutMs: TIMEOUT_MS } })
  const box = fake.addMailbox('quinn@contoso.example')
  for (let i = 0; i < 10; i++) box.addMessage('Inbox', makeEmail(i))
  const hang = fake.faults.delay(3 * TIMEOUT_MS, 10_000, { path: '/$value' })
  const spec = graphMailbox(fake, box, { mode: 'poll', pollIntervalSeconds: 3600 })
  const { name, failing } = await createdThenFailing(t, rt, spec)
  t.match(failing.lastError, /timeout|timed out|abort/i, `the timeout is shown: ${String(failing.lastError)}`)
  t.ok(hang.hits >= 1)
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 0, 'nothing stored from an abandoned download')

  fake.faults.clear()
  await recovers(t, rt, box, name, 10)
})
