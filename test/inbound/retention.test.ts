/**
 * The retention job: raw originals of emails in an end state past
 * MAILSLOT_RAW_RETENTION_DAYS are purged; everything else keeps its bytes.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { purgeExpiredRaw } from '../../src/inbound/retention.ts'
import { send } from '../../src/queue/boss.ts'
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { waitFor } from '../helpers/wait.ts'

const rt = await startTestRuntime(t, { env: { MAILSLOT_RAW_RETENTION_DAYS: '7' } })

/** An email as the pipeline leaves it, aged by hand. */
async function email (status: string, receivedDaysAgo: number, handledDaysAgo: number | null): Promise<{ id: number, raw: Buffer }> {
  const raw = Buffer.from(`Subject: ${status}\r\nMessage-ID: <${randomBytes(6).toString('hex')}@example.com>\r\n\r\nbody\r\n`)
  const { rows } = await rt.ctx.pool.query<{ id: number }>(
    `INSERT INTO inbound_emails (mailbox_name, provider_key, message_id, checksum, size, status, reason, received_at, handled_at, raw)
     VALUES ('archive', $1, $1, $2, $3, $4, CASE $4 WHEN 'rejected' THEN 'no_key' END,
             now() - make_interval(days => $5), now() - make_interval(days => $6), $7) RETURNING id`,
    [randomBytes(8).toString('hex'), randomBytes(32), raw.length, status, receivedDaysAgo, handledDaysAgo, raw])
  return { id: rows[0].id, raw }
}

async function rawOf (r: TestRuntime, id: number): Promise<{ status: number, body: Buffer, json?: any }> {
  const res = await fetch(`${r.address}/api/v1/emails/${id}/raw`, { headers: { authorization: `Bearer ${r.token}` } })
  const body = Buffer.from(await res.arrayBuffer())
  return { status: res.status, body, json: res.status === 200 ? undefined : JSON.parse(body.toString()) }
}

async function purgedIds (): Promise<number[]> {
  const { rows } = await rt.ctx.pool.query<{ id: number }>('SELECT id FROM inbound_emails WHERE raw_purged_at IS NOT NULL ORDER BY id')
  return rows.map(r => r.id)
}

t.test('the scheduled job purges old end-state originals and nothing else', async t => {
  const expired = [await email('delivered', 10, 10), await email('rejected', 9, 9), await email('failed', 30, 8)]
  const kept = {
    received: await email('received', 10, null),
    processing: await email('processing', 10, null),
    recent: await email('delivered', 3, 3),
    handledLate: await email('delivered', 10, 2)
  }

  const { rows: schedules } = await rt.ctx.pool.query(`SELECT cron FROM mailslot_boss.schedule WHERE name = 'retention'`)
  t.equal(schedules.length, 1, 'scheduled by the worker role')
  // what the cron does at its minute, now: the worker registered for the queue purges
  await send(rt.ctx.boss, 'retention', {})
  await waitFor(async () => (await purgedIds()).length === 3, 'three purged', 20_000)
  t.same(await purgedIds(), expired.map(e => e.id), 'exactly the expired end-state emails')

  for (const e of expired) {
    const res = await rawOf(rt, e.id)
    t.equal(res.status, 404)
    t.equal(res.json.error.code, 'not_found')
    t.match(res.json.error.message, /purged/)
    const view = await rt.api('GET', `/api/v1/emails/${e.id}`)
    t.equal(view.status, 200, 'the email itself stays listed')
  }
  const { rows } = await rt.ctx.pool.query('SELECT count(*)::int AS n FROM inbound_emails WHERE raw IS NOT NULL AND id = ANY($1::bigint[])', [expired.map(e => e.id)])
  t.equal(rows[0].n, 0, 'the bytes are gone from the database')
  const replay = await rt.api('POST', `/api/v1/emails/${expired[0].id}/replay`)
  t.equal(replay.status, 409, 'a purged email cannot be replayed')

  for (const [what, e] of Object.entries(kept)) {
    const res = await rawOf(rt, e.id)
    t.equal(res.status, 200, `${what}: kept`)
    t.ok(res.body.equals(e.raw), `${what}: bytes intact`)
  }
})

t.test('purges in batches until done, and again finds nothing', async t => {
  const before = (await purgedIds()).length
  const old = []
  for (let i = 0; i < 5; i++) old.push(await email('rejected', 40, 40))
  t.equal(await purgeExpiredRaw(rt.ctx, 2), 5, 'three statements of at most 2')
  t.equal((await purgedIds()).length, before + 5)
  t.equal(await purgeExpiredRaw(rt.ctx, 2), 0, 'idempotent')
  t.match(rt.logs(), /raw originals purged/)
})
