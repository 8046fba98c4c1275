import t from 'tap'
import { randomBytes } from 'node:crypto'
import { decrypt, decryptJson, encrypt, encryptJson } from '../../src/shared/crypto.ts'

const key = randomBytes(32)

t.test('round trip, and the ciphertext does not contain the plaintext', async t => {
  const sealed = encrypt(key, 'hunter2-secret', 'p')
  t.notOk(sealed.includes(Buffer.from('hunter2-secret')))
  t.equal(decrypt(key, sealed, 'p').toString(), 'hunter2-secret')
  t.same(decryptJson(key, encryptJson(key, { a: 1 }, 'p'), 'p'), { a: 1 })
})

t.test('same plaintext twice gives different ciphertexts (random IV)', async t => {
  t.notSame(encrypt(key, 'x', 'p'), encrypt(key, 'x', 'p'))
})

t.test('wrong key, wrong purpose, tampering and garbage are refused', async t => {
  const sealed = encrypt(key, 'secret', 'p')
  t.throws(() => decrypt(randomBytes(32), sealed, 'p'))
  t.throws(() => decrypt(key, sealed, 'other'))
  const tampered = Buffer.from(sealed); tampered[tampered.length - 1] ^= 1
  t.throws(() => decrypt(key, tampered, 'p'))
  t.throws(() => decrypt(key, Buffer.from('short'), 'p'), /not a mailslot ciphertext/)
})
