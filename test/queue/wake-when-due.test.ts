/**
 * A job this process queues for later starts when it is due, not at an idle
 * worker's next look (every NOTIFY_BACKSTOP_SECONDS in production; longer
 * here, so that the difference shows).
 */
import t from 'tap'
import { createBoss, createQueues, send, work } from '../../src/queue/boss.ts'
import { dueInMs } from '../../src/queue/wake-when-due.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { waitFor } from '../helpers/wait.ts'

const LOOK_SECONDS = 6

t.test('a job queued for later starts when due; one queued past the wrapper waits for the next look', async t => {
  const boss = createBoss(await createTestDatabase(t), { max: 4 })
  await boss.start()
  t.teardown(async () => { await boss.stop({ graceful: false, close: true }) })
  await createQueues(boss)
  const started = new Map<number, number>()
  await work(boss, 'email-handle', { pollingIntervalSeconds: LOOK_SECONDS, notifyPollingIntervalSeconds: LOOK_SECONDS }, async ([job]) => {
    started.set(job.data.emailIds[0], Date.now())
  })
  // the worker's first look is over: from now on it sleeps LOOK_SECONDS between looks
  await new Promise(resolve => setTimeout(resolve, 500))

  const sentAt = Date.now()
  await send(boss, 'email-handle', { emailIds: [1] }, { startAfter: 1 })
  await send(boss, 'email-handle', { emailIds: [2] }, { startAfter: new Date(sentAt + 2000) })
  await boss.send('email-handle', { emailIds: [3] }, { startAfter: 1 })
  await waitFor(async () => started.size === 3, 'all three jobs started', 3 * LOOK_SECONDS * 1000)

  const after = (id: number): number => (started.get(id) ?? Infinity) - sentAt
  t.ok(after(1) >= 1000 && after(1) < 1800, `queued 1 s ahead: started after ${after(1)} ms`)
  t.ok(after(2) >= 2000 && after(2) < 2800, `queued for a time 2 s ahead: started after ${after(2)} ms`)
  t.ok(after(3) >= LOOK_SECONDS * 1000 - 1000, `queued past the wrapper: started at the next look, after ${after(3)} ms`)
})

t.test('dueInMs: seconds, a time ahead, now or past, and text (left to the looks)', async t => {
  const now = Date.parse('2026-12-07T12:00:00Z')
  t.equal(dueInMs(1.5, now), 1500)
  t.equal(dueInMs(new Date(now + 2000), now), 2000)
  t.equal(dueInMs(0, now), undefined)
  t.equal(dueInMs(new Date(now - 1), now), undefined)
  t.equal(dueInMs('2026-12-07T12:00:02Z', now), undefined)
  t.equal(dueInMs(undefined, now), undefined)
})
