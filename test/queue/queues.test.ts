/** The queues mailslot declares are what the database has, on a new database and on one made by an older version. */
import t from 'tap'
import { createBoss, createQueues } from '../../src/queue/boss.ts'
import { QUEUES } from '../../src/queue/queues.ts'
import { createTestDatabase } from '../helpers/db.ts'

t.test('createQueues brings an existing queue\'s options up to date, its policy kept', async t => {
  const boss = createBoss(await createTestDatabase(t), { background: false, max: 2 })
  await boss.start()
  t.teardown(async () => { await boss.stop({ graceful: false, close: true }) })
  // as an older version left it
  await boss.updateQueue('mailbox-fetch', { expireInSeconds: 900, retryLimit: 1, notify: false })
  t.equal((await boss.getQueue('mailbox-fetch'))?.expireInSeconds, 900)

  await createQueues(boss)
  const fetch = await boss.getQueue('mailbox-fetch')
  const declared = QUEUES['mailbox-fetch']
  t.equal(fetch?.expireInSeconds, declared.expireInSeconds)
  t.equal(fetch?.retryLimit, declared.retryLimit)
  t.equal(fetch?.notify, true)
  t.equal(fetch?.policy, declared.policy)
  for (const [name, options] of Object.entries(QUEUES)) t.equal((await boss.getQueue(name))?.policy, options.policy ?? 'standard', `${name}: its policy`)
})
