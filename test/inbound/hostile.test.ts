/**
 * Hostile input through the real store and email-handle path (built-in
 * delivery): each email ends delivered or rejected with its reason, its raw
 * kept, the process up and /healthz answering. The big ones (30 MB) are in
 * hostile-big.test.ts.
 */
import t from 'tap'
import { SMALL, hostileRuntime, ingestTimed, watchHealth } from './hostile-fixture.ts'
import { makeEmail } from '../helpers/emails.ts'

/** Per email, store + parse + handle; far above what any of them takes, far below a quadratic blow-up. */
const HANDLE_BOUND_MS = 15_000
/** /healthz under a loaded 2-core machine: generous, yet a stalled event loop (seconds) fails it. */
const HEALTH_BOUND_MS = 2_000

t.test('every hostile email ends in its end state, raw kept, /healthz answering', async t => {
  const h = await hostileRuntime(t)
  // untimed: the first batch starts the parse lane's thread
  await ingestTimed(h, makeEmail(0, { to: h.addresses.issue }))
  const raws = SMALL.map(c => c.raw(h.addresses))
  const health = watchHealth(h.rt)
  let slowest = { name: '', ms: 0 }
  for (const [i, c] of SMALL.entries()) {
    const raw = raws[i]
    const row = await ingestTimed(h, raw)
    t.match(row, { status: c.status, reason: c.reason ?? null }, c.name)
    t.equal(row.rawBytes, raw.length, `${c.name}: raw kept`)
    if (row.ms > slowest.ms) slowest = { name: c.name, ms: row.ms }
  }
  const { slowestMs, answers } = await health.stop()
  t.comment(`slowest email: ${slowest.name} ${Math.round(slowest.ms)} ms; slowest /healthz ${Math.round(slowestMs)} ms of ${answers}; ` +
    `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`)
  t.ok(slowest.ms < HANDLE_BOUND_MS, `each email handled in under ${HANDLE_BOUND_MS} ms`)
  t.ok(slowestMs < HEALTH_BOUND_MS, `/healthz answered within ${HEALTH_BOUND_MS} ms throughout`)
  t.equal((await h.rt.api('GET', '/readyz', undefined, null)).status, 200, 'still up and ready')
})

t.test('forged delivery headers naming another project: To has a key, To wins (GitLab: the first header with a key)', async t => {
  const h = await hostileRuntime(t)
  const forged = [`Received: from mx.example.org by mx2.example.org for <${h.addresses.other}>; Mon, 1 Jan 2026 00:00:00 +0000`,
    `Envelope-To: ${h.addresses.other}`, `X-Original-To: ${h.addresses.other}`, `Delivered-To: ${h.addresses.other}`]
  const row = await ingestTimed(h, makeEmail(1, { to: h.addresses.issue, subject: 'forged', headers: Object.fromEntries(forged.map(l => l.split(/: (.*)/s).slice(0, 2))) }))
  t.match(row, { status: 'delivered', reason: null })
  const issues = async (project: number): Promise<any[]> => (await h.rt.api('GET', `/api/v1/projects/${project}/issues`)).body.items
  t.same((await issues(h.projects.a)).map(i => i.title), ['forged'], 'the issue is in the project To names')
  t.same(await issues(h.projects.b), [], 'nothing in the project the forged headers name')

  // GitLab's rule cuts both ways: with no key in To, the first delivery header with one decides
  const relayed = await ingestTimed(h, makeEmail(2, { to: 'someone@example.net', subject: 'relayed', headers: { 'Envelope-To': h.addresses.other } }))
  t.match(relayed, { status: 'delivered' })
  t.same((await issues(h.projects.b)).map(i => i.title), ['relayed'], 'Envelope-To routes when To carries no key')
})

t.test('one Message-ID, two bodies: both stored, each its own issue', async t => {
  const h = await hostileRuntime(t)
  const first = await ingestTimed(h, makeEmail(1, { to: h.addresses.issue, messageId: '<same@example.org>', subject: 'first', body: 'one\r\n' }))
  const second = await ingestTimed(h, makeEmail(1, { to: h.addresses.issue, messageId: '<same@example.org>', subject: 'second', body: 'two\r\n' }))
  t.not(first.id, second.id)
  t.match([first, second], [{ status: 'delivered' }, { status: 'delivered' }])
  const titles = (await h.rt.api('GET', `/api/v1/projects/${h.projects.a}/issues`)).body.items.map((i: any) => i.title).sort()
  t.same(titles, ['first', 'second'])
})
