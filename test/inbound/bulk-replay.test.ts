/**
 * Bulk replay (`POST /api/v1/emails/replay`, `mailslot emails replay --status`):
 * real emails, stored and handled by a real gitlab delivery that failed, are
 * replayed by status, mailbox and age. Only the matching ones go out again,
 * each exactly once; every other email keeps its state.
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { storeFetched } from '../../src/inbound/store.ts'
import { replayMatching } from '../../src/inbound/replay.ts'
import { makeEmail } from '../helpers/emails.ts'
import { startTestRuntime } from '../helpers/runtime.ts'
import { waitFor } from '../helpers/wait.ts'
import { runCli } from '../helpers/cli.ts'
import { startEndpoint } from '../handlers/delivery-endpoint.ts'

t.setTimeout(240_000)

const rt = await startTestRuntime(t, { env: { MAILSLOT_HANDLE_RETRY_BASE_SECONDS: '0.2' } })
// GitLab stand-in: 400 (failed at once, no retry) for the emails whose subject says so, until told otherwise
const gitlab = await startEndpoint(t, async () => {}, req => ({ status: req.body.includes('Subject: fail') ? 400 : 200 }))
const secretFile = path.join(t.testdir(), 'mailroom_secret')
await writeFile(secretFile, randomBytes(32).toString('base64'))

interface Row {
  id: number, mailbox_name: string, status: string, attempts: number, handled_at: Date, last_error: string | null, received_at: Date
}
const rows = async (): Promise<Row[]> =>
  (await rt.ctx.pool.query<Row>('SELECT id, mailbox_name, status, attempts, handled_at, last_error, received_at FROM inbound_emails ORDER BY id')).rows
const settled = async (n: number): Promise<Row[]> => await waitFor(async () => {
  const all = await rows()
  return all.length === n && all.every(r => ['delivered', 'rejected', 'failed'].includes(r.status)) && all
}, `${n} emails settled`)

/** Stores `subjects` in a new gitlab-delivered mailbox; a subject starting with `big` is stored headers only (too_large). */
async function mailbox (name: string, subjects: string[]): Promise<Map<number, Buffer>> {
  const m = await createMailbox(rt.ctx, rt.ctx.pool, {
    name, provider: 'imap', imap: { host: '127.0.0.1', port: 1, user: 'x', password: 'y' },
    delivery: { kind: 'gitlab', url: gitlab.url, mailboxType: 'incoming_email', secretFile }
  })
  const raws = subjects.map((subject, i) => makeEmail(i, { subject }))
  const { stored } = await storeFetched(rt.ctx, { id: m.id, name },
    raws.map((raw, i) => ({ ref: { key: `${name}-${i}` }, raw, complete: !subjects[i].startsWith('big') })))
  return new Map(stored.map((id, i) => [id, raws[i]]))
}

const a = await mailbox('bulk-a', ['fail a1', 'fail a2', 'fail a3', 'fail a4', 'ok a5', 'big a6', 'big a7', 'big a8'])
const b = await mailbox('bulk-b', ['fail b1', 'fail b2', 'ok b3'])
const raws = new Map([...a, ...b])
const first = await settled(11)
const failed = (mb: string): number[] => first.filter(r => r.mailbox_name === mb && r.status === 'failed').map(r => r.id)
// a1 and a2 were received three days ago
const [a1, a2, a3, a4] = failed('bulk-a')
await rt.ctx.pool.query(`UPDATE inbound_emails SET received_at = now() - interval '3 days' WHERE id = ANY($1)`, [[a1, a2]])
const initial = await rows()
gitlab.respond(() => ({ status: 200 }))

/** POSTs GitLab received for each of these emails since `from` (an index into gitlab.received). */
const postsSince = (from: number, ids: number[]): number[] =>
  ids.map(id => gitlab.received.slice(from).filter(r => r.body.equals(raws.get(id)!)).length)

/** Rows that are not in `ids` are exactly as they were in `before`. */
async function othersUntouched (tt: Test, before: Row[], ids: number[]): Promise<void> {
  const now = new Map((await rows()).map(r => [r.id, r]))
  for (const r of before.filter(r => !ids.includes(r.id))) tt.same(now.get(r.id), r, `email ${r.id} (${r.mailbox_name}, ${r.status}) untouched`)
}

t.test('before any replay: each email handled once, as the endpoint answered', async t => {
  t.same(first.map(r => r.status), ['failed', 'failed', 'failed', 'failed', 'delivered', 'rejected', 'rejected', 'rejected', 'failed', 'failed', 'delivered'])
  t.ok(first.every(r => r.attempts === 1), 'each handled once')
})

t.test('API: failed emails of one mailbox received in the last 24 h, and no others', async t => {
  const from = gitlab.received.length
  const res = await rt.api('POST', '/api/v1/emails/replay', { status: 'failed', mailbox: 'bulk-a', since: '24h' })
  t.equal(res.status, 202, res.text)
  t.same(res.body, { queued: 2 })
  const done = await waitFor(async () => {
    const now = (await rows()).filter(r => r.id === a3 || r.id === a4)
    return now.every(r => r.status === 'delivered') && now
  }, 'a3 and a4 delivered')
  t.same(done.map(r => r.attempts), [1, 1], 'each handled once after the replay')
  t.same(postsSince(from, [a3, a4]), [1, 1], 'each sent to GitLab once')
  t.equal(gitlab.received.length - from, 2, 'nothing else was sent')
  await othersUntouched(t, initial, [a3, a4])
})

t.test('API: bad filters are 400s naming the field; delivered is refused with the reason', async t => {
  const delivered = await rt.api('POST', '/api/v1/emails/replay', { status: 'delivered' })
  t.equal(delivered.status, 400)
  t.equal(delivered.body.error.code, 'invalid_status')
  t.match(delivered.body.error.message, /must be failed or rejected: delivered emails are not replayed in bulk, a gitlab or webhook delivery would send them again/)
  const since = await rt.api('POST', '/api/v1/emails/replay', { status: 'failed', since: 'last tuesday' })
  t.equal(since.body.error.code, 'invalid_since')
  t.equal((await rt.api('POST', '/api/v1/emails/replay', {})).body.error.code, 'invalid_status')
  t.equal((await rt.api('POST', '/api/v1/emails/replay', { status: 'failed', bogus: 1 })).status, 400)
})

t.test('CLI: every failed email, however old, each sent once; exit 0 with the count', async t => {
  const before = await rows()
  const targets = [a1, a2, ...failed('bulk-b')]
  const from = gitlab.received.length
  const env = { ...rt.env, MAILSLOT_DATA_DIR: t.testdir() }
  const r = await runCli(['emails', 'replay', '--status', 'failed'], env)
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, '4 emails queued for replay\n')
  const done = await waitFor(async () => {
    const now = (await rows()).filter(r => targets.includes(r.id))
    return now.every(r => r.status === 'delivered') && now
  }, 'the four delivered')
  t.same(done.map(r => r.attempts), [1, 1, 1, 1])
  t.same(postsSince(from, targets), [1, 1, 1, 1], 'each sent to GitLab once')
  t.equal(gitlab.received.length - from, 4)
  await othersUntouched(t, before, targets)
  const none = await runCli(['emails', 'replay', '--status', 'failed', '--mailbox', 'bulk-b'], env)
  t.equal(none.stdout, '0 emails queued for replay\n', 'nothing failed is left')
})

t.test('CLI: bad arguments exit 2 with one line naming the flag; replay ID still works', async t => {
  const env = { ...rt.env, MAILSLOT_DATA_DIR: t.testdir() }
  const cases: Array<[string[], RegExp]> = [
    [['--status', 'delivered'], /^mailslot: invalid_status: --status must be failed or rejected: delivered emails are not replayed in bulk/],
    [['--status', 'failed', '--since', 'yesterday'], /^mailslot: invalid_since: --since must be an ISO 8601 time/],
    [['--mailbox', 'bulk-a'], /^mailslot: invalid_status: --status is required: failed or rejected/],
    [['12', '--status', 'failed'], /^mailslot: invalid_request: emails replay takes an email ID or --status, not both/]
  ]
  for (const [args, expected] of cases) {
    const r = await runCli(['emails', 'replay', ...args], env)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, expected)
    t.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line')
  }
  const one = await runCli(['emails', 'replay', String(a1)], env)
  t.equal(one.code, 0, one.stderr)
  t.equal(one.stdout, `email ${a1} queued for handling again\n`)
  await waitFor(async () => (await rows()).find(r => r.id === a1)?.status === 'delivered' || undefined, 'a1 handled again')
})

t.test('rejected emails in batches smaller than the backlog: each queued once, rejected again, nothing sent', async t => {
  const before = await rows()
  const targets = before.filter(r => r.status === 'rejected').map(r => r.id)
  const from = gitlab.received.length
  const { rows: [{ now: started }] } = await rt.ctx.pool.query<{ now: Date }>('SELECT now()')
  t.equal(await replayMatching(rt.ctx, { status: 'rejected' }, 2), 3, 'three rejected emails, in batches of two')
  const done = await waitFor(async () => {
    const now = (await rows()).filter(r => targets.includes(r.id))
    return now.every(r => r.status === 'rejected' && r.attempts === 1) && now
  }, 'handled again')
  t.ok(done.every((r, i) => r.handled_at > before.find(x => x.id === targets[i])!.handled_at), 'each handled again')
  t.equal(gitlab.received.length - from, 0, 'a too_large email is not sent')
  const { rows: jobs } = await rt.ctx.pool.query<{ ids: number[] }>(
    `SELECT data->'emailIds' AS ids FROM mailslot_boss.job WHERE name = 'email-handle' AND created_on >= $1`, [started])
  const queuedIds = jobs.flatMap(j => j.ids).filter(id => targets.includes(id))
  t.same(queuedIds.sort(), [...targets].sort(), 'each queued in exactly one job')
  await othersUntouched(t, before, targets)
})
