// The admin session cookie: signed, expiring, bound to the admin token and
// the encryption key; it never holds the token.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Keyring } from '../../src/shared/crypto.ts'
import { newSession, SESSION_SECONDS, sessionKeys, validSession } from '../../src/web/session.ts'

const keyring = new Keyring([randomBytes(32)])
const TOKEN = 'the-admin-token-0123456789'
const keys = sessionKeys(keyring, TOKEN, undefined)

t.test('a fresh session is valid until it expires', async t => {
  const now = Date.now()
  const value = newSession(keys, now)
  t.notMatch(value, TOKEN)
  t.ok(validSession(keys, value, now))
  t.ok(validSession(keys, value, now + (SESSION_SECONDS - 5) * 1000))
  t.notOk(validSession(keys, value, now + (SESSION_SECONDS + 1) * 1000), 'expired')
})

t.test('a changed admin token or encryption key ends every session', async t => {
  const value = newSession(keys)
  t.notOk(validSession(sessionKeys(keyring, `${TOKEN}-rotated`, undefined), value))
  t.notOk(validSession(sessionKeys(new Keyring([randomBytes(32)]), TOKEN, undefined), value))
  t.ok(validSession(sessionKeys(keyring, TOKEN, 'https://x.example'), value), 'the public URL does not matter')
})

t.test('a tampered, truncated or foreign value is refused', async t => {
  const value = newSession(keys)
  const [expiry, id, sig] = value.split('.')
  for (const bad of [
    undefined, '', 'x', `${Number(expiry) + 3600}.${id}.${sig}`, `${expiry}.${id}x.${sig}`, `${expiry}.${id}.${sig.slice(1)}`,
    `${expiry}.${id}.`, `abc.${id}.${sig}`
  ]) t.notOk(validSession(keys, bad), String(bad))
})

t.test('the cookie is Secure exactly when the public URL is https', async t => {
  t.equal(sessionKeys(keyring, TOKEN, 'https://mail.example.com').secure, true)
  t.equal(sessionKeys(keyring, TOKEN, 'http://mail.example.com').secure, false)
  t.equal(sessionKeys(keyring, TOKEN, undefined).secure, false)
})
