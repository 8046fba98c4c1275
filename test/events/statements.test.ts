/**
 * What noticing health changes costs a sync: the state a write replaces
 * comes back from the write itself, so a sync that changes nothing costs the
 * same statements with events on as with events off; a change costs one
 * statement more (the event's insert), and only with events on. Statements
 * are counted on the pool the sync is given (the real one, counted).
 */
import t from 'tap'
import { syncMailbox } from '../../src/ingestion/sync.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import type { AppContext } from '../../src/context.ts'
import { startDovecot } from '../helpers/dovecot.ts'
import { startTestRuntime } from '../helpers/runtime.ts'
import { queuedEvents } from './fixture.ts'
import { counted } from '../helpers/counted.ts'

t.test('an idle sync costs the same with events off and on; a change one statement more, with events on only', async t => {
  const imap = await startDovecot()
  t.teardown(async () => await imap.stop())
  // no workers: the syncs run here, one at a time
  const rt = await startTestRuntime(t, { role: 'web', background: false })
  const off = rt.ctx
  const on: AppContext = { ...off, settings: { ...off.settings, events: { url: 'https://ops.example.com/events', secret: `whsec_${Buffer.alloc(24, 3).toString('base64')}` } } }
  const u = imap.addUser()
  const { id } = await createMailbox(off, off.pool, {
    name: 'idle', provider: 'imap', imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password }, address: 'incoming+%{key}@example.com'
  })
  const sync = async (ctx: AppContext): Promise<number> => {
    const c = counted(ctx)
    await syncMailbox(c.ctx, { mailboxId: id, reason: 'manual' })
    return c.statements()
  }
  const state = async (): Promise<string> => (await off.pool.query('SELECT health_state FROM mailboxes WHERE id = $1', [id])).rows[0].health_state

  const firstOff = await sync(off)
  t.equal(await state(), 'ok', 'pending → ok')
  const idleOff = await sync(off)
  const idleOn = await sync(on)
  t.equal(await state(), 'ok')
  t.equal(idleOn, idleOff, `an idle sync: ${idleOff} statements, events off or on`)
  t.equal(firstOff, idleOff, 'a change costs nothing more with events off')
  t.equal(await queuedEvents(rt), 0, 'nothing queued for no change, nor with events off')

  await imap.setPassword(u.user, 'changed')
  const failingOn = await sync(on)
  t.equal(await state(), 'auth_failed')
  const failedAgainOn = await sync(on)
  t.equal(failingOn, failedAgainOn + 1, `a failure that changes the state: one statement more (${failedAgainOn} + 1)`)
  const { rows } = await off.pool.query(`SELECT data FROM mailslot_boss.job WHERE name = 'operator-event'`)
  t.match(rows.map(r => r.data), [{ type: 'mailbox.health_changed', data: { mailbox: 'idle', from: 'ok', to: 'auth_failed', error: /auth/i } }], 'one event, for the change')
  t.comment(`statements per sync: idle ${idleOff}; a failure ${failedAgainOn}, ${failingOn} when it changes the state (events on)`)
})
