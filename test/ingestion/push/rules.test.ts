/** The pure rules of IMAP push: folding a burst of triggers, caps, reconnect waits. */
import t from 'tap'
import { coalesced } from '../../../src/ingestion/push/coalesce.ts'
import { chooseToAcquire } from '../../../src/ingestion/push/caps.ts'
import { reconnectDelayMs } from '../../../src/ingestion/push/watcher.ts'

t.test('a burst of triggers makes at most two runs, the last one after the last trigger', async t => {
  let runs = 0
  let release: () => void = () => {}
  const trigger = coalesced(async () => {
    runs++
    await new Promise<void>(resolve => { release = resolve })
  }, () => {})
  for (let i = 0; i < 100; i++) trigger()
  t.equal(runs, 1, 'one run at once')
  release()
  await new Promise(resolve => setImmediate(resolve))
  t.equal(runs, 2, 'one more for the triggers during it')
  release()
  await new Promise(resolve => setImmediate(resolve))
  t.equal(runs, 2, 'and no more')
  trigger()
  t.equal(runs, 3, 'a later trigger runs at once')
  release()
})

t.test('a failing run is reported and does not stop later ones', async t => {
  const errors: unknown[] = []
  let runs = 0
  const trigger = coalesced(async () => { runs++; throw new Error('queue down') }, err => errors.push(err))
  trigger()
  await new Promise(resolve => setImmediate(resolve))
  trigger()
  await new Promise(resolve => setImmediate(resolve))
  t.equal(runs, 2)
  t.equal(errors.length, 2)
})

t.test('caps: per process, per host, per turn', async t => {
  const free = [{ id: 1, host: 'a' }, { id: 2, host: 'a' }, { id: 3, host: 'b' }, { id: 4, host: 'c' }]
  t.same(chooseToAcquire(free, [], { perProcess: 10, perHost: 10, perTurn: 10 }), [1, 2, 3, 4], 'room for all')
  t.same(chooseToAcquire(free, ['x'], { perProcess: 3, perHost: 10, perTurn: 10 }), [1, 2], 'the process cap counts those held')
  t.same(chooseToAcquire(free, ['b'], { perProcess: 10, perHost: 1, perTurn: 10 }), [1, 4], 'one per host, counting those held')
  t.same(chooseToAcquire(free, [], { perProcess: 10, perHost: 10, perTurn: 2 }), [1, 2], 'a few per turn')
  t.same(chooseToAcquire(free, ['a', 'a'], { perProcess: 2, perHost: 10, perTurn: 10 }), [], 'at the cap: none')
})

t.test('reconnect waits grow, and longer after a refused login', async t => {
  t.same([1, 2, 3, 8, 20].map(n => reconnectDelayMs(n, false)), [1000, 2000, 4000, 120_000, 120_000])
  t.same([1, 2, 10].map(n => reconnectDelayMs(n, true)), [60_000, 120_000, 30 * 60_000])
})
