/** Singleton keys keep their spelling: jobs queued by an older version must still collide with new ones. */
import t from 'tap'
import { subscriptionKeys, syncKeys } from '../../src/queue/queues.ts'

t.test('mailbox-sync keys: now and again', async t => {
  t.equal(syncKeys.now(7), '7:now')
  t.equal(syncKeys.again(7), '7:again')
})

t.test('graph-subscription keys: per mailbox and action', async t => {
  t.equal(subscriptionKeys.action(7, 'ensure'), '7:ensure')
  t.equal(subscriptionKeys.action(7, 'reauthorize'), '7:reauthorize')
  t.equal(subscriptionKeys.again(7, 'recreate'), '7:recreate:again')
  t.equal(subscriptionKeys.renewal(7), '7:renew')
})
