/** Connect links and OAuth states in PostgreSQL: hashed, expiring, single use, even under a race. */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { createPool, transaction } from '../../../src/db/pool.ts'
import { Keyring } from '../../../src/shared/crypto.ts'
import { claimLink, insertLink, linkById, linkByToken, recentLinks, type NewLink } from '../../../src/oauth/connect/links.ts'
import { STATE_KEEP_DAYS, claimState, createState, purgeStaleStates } from '../../../src/oauth/connect/states.ts'
import { linkTokenHash } from '../../../src/shared/link-token.ts'
import { createTestDatabase } from '../../helpers/db.ts'

const newLink = (over: Partial<NewLink> = {}): NewLink => ({
  mailbox: { name: 'support', serviceDeskProjectId: 1 },
  mailboxId: null,
  secrets: null,
  apps: ['m365'],
  loginHint: null,
  expiresInMinutes: 60,
  ...over
})

t.test('links and states', async t => {
  const pool = createPool(await createTestDatabase(t), 4)
  t.teardown(async () => { await pool.end() })
  const keyring = new Keyring([randomBytes(32)])

  t.test('a link token is 256 bits, stored only as its hash, found only by itself', async t => {
    const { link, token } = await insertLink(pool, newLink())
    t.match(token, /^[A-Za-z0-9_-]{43}$/)
    t.match(link.id, /^cl_/)
    t.equal(link.state, 'open')
    const { rows } = await pool.query('SELECT row_to_json(c)::text AS row FROM connect_links c WHERE id = $1', [link.id])
    t.notMatch(rows[0].row, token, 'the token is not in the table')
    t.equal((await linkByToken(pool, token))?.id, link.id)
    const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')
    t.equal(await linkByToken(pool, tampered), null, 'one character changed opens nothing')
    t.equal(await linkByToken(pool, token + 'x'), null)
    t.equal(await linkByToken(pool, '../../etc'), null)
  })

  t.test('states: open, used, expired', async t => {
    const { link, token } = await insertLink(pool, newLink({ expiresInMinutes: 1 }))
    await pool.query("UPDATE connect_links SET expires_at = now() - interval '1 second' WHERE id = $1", [link.id])
    t.equal((await linkByToken(pool, token))?.state, 'expired')
    t.equal(await claimLink(pool, link.id), false, 'an expired link cannot be used')

    const other = await insertLink(pool, newLink())
    t.equal(await claimLink(pool, other.link.id), true)
    t.equal(await claimLink(pool, other.link.id), false, 'used once only')
    t.equal((await linkById(pool, other.link.id))?.state, 'used')
    const states = Object.fromEntries((await recentLinks(pool)).map(l => [l.id, l.state]))
    t.equal(states[link.id], 'expired')
    t.equal(states[other.link.id], 'used')
  })

  t.test('two transactions racing for one link: one wins', async t => {
    const { link } = await insertLink(pool, newLink())
    const race = async (): Promise<boolean> => await transaction(pool, async (c) => {
      const won = await claimLink(c, link.id)
      await new Promise(resolve => setTimeout(resolve, 50))
      return won
    })
    const results = await Promise.all([race(), race()])
    t.same(results.sort(), [false, true])
  })

  t.test('a state is bound to its link and app, sealed, and taken once', async t => {
    const { link } = await insertLink(pool, newLink())
    const codeVerifier = randomBytes(32).toString('base64url')
    const state = await createState(pool, keyring, { linkId: link.id, appName: 'm365', codeVerifier, nonce: 'n-1' })
    t.match(state, /^[A-Za-z0-9_-]{43}$/)
    const { rows } = await pool.query('SELECT row_to_json(s)::text AS row, secrets FROM oauth_states s')
    t.notMatch(rows[0].row, state)
    t.notOk((rows[0].secrets as Buffer).includes(Buffer.from(codeVerifier)), 'the verifier is sealed')

    t.same(await claimState(pool, keyring, state), { linkId: link.id, appName: 'm365', codeVerifier, nonce: 'n-1' })
    t.equal(await claimState(pool, keyring, state), 'used', 'a replay is refused')
    t.equal(await claimState(pool, keyring, randomBytes(32).toString('base64url')), 'unknown')
    t.equal(await claimState(pool, keyring, 'short'), 'unknown')

    const late = await createState(pool, keyring, { linkId: link.id, appName: 'm365', codeVerifier, nonce: 'n-2' })
    await pool.query("UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
    t.equal(await claimState(pool, keyring, late), 'expired')
  })

  t.test('concurrent callbacks with one state: exactly one takes it', async t => {
    const { link } = await insertLink(pool, newLink())
    const state = await createState(pool, keyring, { linkId: link.id, appName: 'm365', codeVerifier: 'v'.repeat(43), nonce: 'n' })
    const results = await Promise.all(Array.from({ length: 4 }, async () => await claimState(pool, keyring, state)))
    t.equal(results.filter(r => typeof r === 'object').length, 1)
    t.equal(results.filter(r => r === 'used').length, 3)
  })
  t.test('states a week past their expiry are purged; younger ones still say why they are refused', async t => {
    const { link } = await insertLink(pool, newLink())
    const secrets = { codeVerifier: 'v', nonce: 'n' }
    const stale = await createState(pool, keyring, { linkId: link.id, appName: 'm365', ...secrets })
    const lately = await createState(pool, keyring, { linkId: link.id, appName: 'm365', ...secrets })
    await pool.query(`UPDATE oauth_states SET expires_at = now() - make_interval(days => $1) WHERE state_hash = $2`, [STATE_KEEP_DAYS, linkTokenHash(stale)])
    await pool.query(`UPDATE oauth_states SET expires_at = now() - make_interval(days => $1) WHERE state_hash = $2`, [STATE_KEEP_DAYS - 1, linkTokenHash(lately)])
    t.ok(await purgeStaleStates(pool) >= 1)
    t.equal(await claimState(pool, keyring, stale), 'unknown', 'purged')
    t.equal(await claimState(pool, keyring, lately), 'expired', 'kept: still told expired')
    t.equal(await purgeStaleStates(pool), 0, 'nothing more to purge')
  })
})
