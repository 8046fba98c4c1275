import t from 'tap'
import { makeEmail } from '../helpers/emails.ts'
import { waitFor } from '../helpers/wait.ts'
import { ImapProvider } from '../../src/providers/imap/provider.ts'
import { processBatches } from '../../src/ingestion/batch.ts'
import { loadMailbox } from '../../src/mailboxes/repository.ts'
import { imapFixture, imapMailbox } from './imap-fixture.ts'
import { countRows, finishedCount } from '../helpers/rows.ts'

t.test('a UIDVALIDITY change neither loses nor doubles mail', async t => {
  const { imap, rt } = await imapFixture(t)
  const u = imap.addUser()
  await imap.createFolder(u.user, 'Work')
  const first = Array.from({ length: 10 }, (_, i) => makeEmail(i))
  await imap.appendMany(u.user, 'Work', first)
  const spec = imapMailbox(imap, u, { imap: { ...(imapMailbox(imap, u).imap as object), folder: 'Work' } })
  await rt.api('POST', '/api/v1/mailboxes', spec)
  await waitFor(async () => (await finishedCount(rt, spec.name as string)) === 10, 'first 10')
  const before = await imap.uidValidity(u.user, 'Work')

  // the folder is recreated: same messages come back unseen under new UIDs, plus 5 new ones
  await imap.deleteFolder(u.user, 'Work')
  await imap.createFolder(u.user, 'Work')
  await imap.appendMany(u.user, 'Work', [...first, ...Array.from({ length: 5 }, (_, i) => makeEmail(100 + i))])
  t.not(await imap.uidValidity(u.user, 'Work'), before, 'UIDVALIDITY changed')
  await rt.api('POST', `/api/v1/mailboxes/${spec.name as string}/poll`)
  await waitFor(async () => (await finishedCount(rt, spec.name as string)) === 15, '15 handled')
  await waitFor(async () => [...(await imap.flags(u.user, 'Work')).values()].every(f => f.includes('\\Seen')), 'all 15 seen again')
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 15, 'the 10 known ones were not stored again')
  // the cursor moves on after the marking, the last step of a batch
  const validity = String(await imap.uidValidity(u.user, 'Work'))
  const cursor = async (): Promise<{ uidValidity: string }> => (await rt.ctx.pool.query('SELECT cursor FROM mailboxes')).rows[0].cursor
  await waitFor(async () => (await cursor()).uidValidity === validity, 'the cursor moved on', 10_000)
  t.equal((await cursor()).uidValidity, validity, 'cursor follows the new UIDVALIDITY')
})

t.test('the same batch stored by two sessions at once gives one row per message', async t => {
  const { imap, rt } = await imapFixture(t, { role: 'web' })
  const u = imap.addUser()
  await imap.appendMany(u.user, 'INBOX', Array.from({ length: 25 }, (_, i) => makeEmail(i)))
  const spec = imapMailbox(imap, u)
  const created = await rt.api('POST', '/api/v1/mailboxes', spec)
  const mailbox = (await loadMailbox(rt.ctx.pool, rt.ctx.keyring, created.body.id))!
  const providers = [0, 1, 2].map(() => new ImapProvider(mailbox.spec.imap!, 'seen'))
  t.teardown(async () => { for (const p of providers) await p.close() })
  const { refs } = await providers[0].listNew(null)
  const box = { id: mailbox.id, name: mailbox.spec.name }
  const runs = await Promise.all(providers.map(async p => await processBatches(rt.ctx, box, p, [refs], 1e9)))
  t.same(runs.map(r => r.error), [undefined, undefined, undefined], 'no session failed')
  const results = runs.flatMap(r => r.results)
  t.equal(results.reduce((n, r) => n + r.stored, 0), 25, 'stored once in total')
  t.equal(results.reduce((n, r) => n + r.duplicates, 0), 50, 'the others were recognised as duplicates')
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 25)
  t.equal(await countRows(rt, `SELECT coalesce(sum(jsonb_array_length(data->'emailIds')), 0)::int AS n FROM mailslot_boss.job WHERE name = 'email-handle'`), 25, 'each email queued for handling once')
})

t.test('a wrong password: auth_failed with a clear error, backoff, others still served', async t => {
  const { imap, rt } = await imapFixture(t)
  const good = imap.addUser()
  const bad = imap.addUser()
  await imap.appendMany(good.user, 'INBOX', Array.from({ length: 5 }, (_, i) => makeEmail(i)))
  const badSpec = imapMailbox(imap, { user: bad.user, password: 'not-the-password' })
  const goodSpec = imapMailbox(imap, good)
  await rt.api('POST', '/api/v1/mailboxes', badSpec)
  await rt.api('POST', '/api/v1/mailboxes', goodSpec)
  await waitFor(async () => (await finishedCount(rt, goodSpec.name as string)) === 5, 'good mailbox served')
  const health = await waitFor(async () => {
    const h = (await rt.api('GET', `/api/v1/mailboxes/${badSpec.name as string}`)).body.health
    return h.state === 'auth_failed' ? h : undefined
  }, 'auth_failed')
  t.match(health.lastError, /login failed/i)
  t.notMatch(health.lastError, 'not-the-password')
  t.equal(health.consecutiveFailures, 1)
  const { rows } = await rt.ctx.pool.query(`SELECT extract(epoch FROM next_poll_at - now())::int AS wait FROM mailboxes WHERE name = $1`, [badSpec.name])
  t.ok(rows[0].wait >= 250, `backs off (${rows[0].wait as number} s)`)
  t.notMatch(rt.logs(), 'not-the-password', 'the password is not logged')
})

t.test('a dead server: failing, with the error, and backoff', async t => {
  const { rt } = await imapFixture(t)
  const spec = { name: 'dead', provider: 'imap', imap: { host: '127.0.0.1', port: 9, tls: 'none', user: 'x', password: 'y', connectTimeoutSeconds: 2 } }
  await rt.api('POST', '/api/v1/mailboxes', spec)
  const health = await waitFor(async () => {
    const h = (await rt.api('GET', '/api/v1/mailboxes/dead')).body.health
    return h.state === 'failing' ? h : undefined
  }, 'failing')
  t.match(health.lastError, /connection|ECONNREFUSED/i)
  t.equal(health.lastSuccessAt, null)
})

t.test('a message over the size limit: too_large with its headers, not fetched again', async t => {
  const { imap, rt } = await imapFixture(t)
  const u = imap.addUser()
  const big = makeEmail(1, { size: 30 * 1024 * 1024, subject: 'A very big one' })
  await imap.appendMany(u.user, 'INBOX', [big, makeEmail(2)])
  const spec = imapMailbox(imap, u)
  await rt.api('POST', '/api/v1/mailboxes', spec)
  await waitFor(async () => (await finishedCount(rt, spec.name as string)) === 2, 'both handled')
  const { body } = await rt.api('GET', `/api/v1/emails?mailbox=${spec.name as string}&status=rejected`)
  body.items = body.items.filter((e: { reason: string }) => e.reason === 'too_large')
  t.equal(body.items.length, 1)
  t.equal(body.items[0].reason, 'too_large')
  t.equal(body.items[0].subject, 'A very big one', 'its headers were kept and parsed')
  t.ok(body.items[0].size >= 30 * 1024 * 1024, 'the real size is recorded')
  const raw = await fetch(`${rt.address}/api/v1/emails/${body.items[0].id as number}/raw`, { headers: { authorization: `Bearer ${rt.token}` } })
  t.ok((await raw.arrayBuffer()).byteLength < 4096, 'only the header block is stored')
  t.ok(await waitFor(async () => [...(await imap.flags(u.user, 'INBOX')).values()].every(f => f.includes('\\Seen')), 'marked processed', 10_000), 'marked processed')
  await rt.api('POST', `/api/v1/mailboxes/${spec.name as string}/poll`)
  await new Promise(resolve => setTimeout(resolve, 1500))
  t.equal(await countRows(rt, 'SELECT count(*)::int AS n FROM inbound_emails'), 2, 'not fetched again')
})
