/** Lock keys stay what they were: a process of another version must contend for the same lock. */
import t from 'tap'
import { lockKey } from '../../src/db/locks.ts'

t.test('sync and subscription keys keep their values', async t => {
  t.equal(lockKey('sync', 1), -7406927225642445718n)
  t.equal(lockKey('sync', 42), -1932966450180692519n)
  t.equal(lockKey('graph-subscription', 1), -704605892330313138n)
  t.equal(lockKey('graph-subscription', 42), 6812152788361088925n)
})

t.test('one mailbox\'s two locks differ', async t => {
  t.not(lockKey('sync', 7), lockKey('graph-subscription', 7))
})
