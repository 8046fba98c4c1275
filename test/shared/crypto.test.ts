import t from 'tap'
import { createCipheriv, randomBytes } from 'node:crypto'
import { Keyring, UndecryptableError, decrypt, decryptJson, encrypt, encryptJson, reseal } from '../../src/shared/crypto.ts'

const key = new Keyring([randomBytes(32)])

/** A ciphertext as version 1 wrote it (no key id): still read after the upgrade. */
function legacy (k: Buffer, plaintext: string, purpose: string): Buffer {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', k, iv)
  cipher.setAAD(Buffer.from(purpose))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([Buffer.from([1]), iv, cipher.getAuthTag(), body])
}

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
  t.throws(() => decrypt(new Keyring([randomBytes(32)]), sealed, 'p'), { name: 'UndecryptableError', message: /not listed in MAILSLOT_ENCRYPTION_KEY/ })
  t.throws(() => decrypt(key, sealed, 'other'), UndecryptableError)
  const tampered = Buffer.from(sealed); tampered[tampered.length - 1] ^= 1
  t.throws(() => decrypt(key, tampered, 'p'), /does not authenticate/)
  t.throws(() => decrypt(key, Buffer.from('short'), 'p'), /not a mailslot ciphertext/)
})

t.test('a keyring writes with its first key and reads with any', async t => {
  const [next, old] = [randomBytes(32), randomBytes(32)]
  const byOld = encrypt(new Keyring([old]), 'secret', 'p')
  const both = new Keyring([next, old])
  t.equal(decrypt(both, byOld, 'p').toString(), 'secret')
  const byNew = encrypt(both, 'secret', 'p')
  t.equal(decrypt(new Keyring([next]), byNew, 'p').toString(), 'secret', 'written with the first key')
  t.throws(() => decrypt(new Keyring([old]), byNew, 'p'), UndecryptableError)
  t.notOk(both.isCurrent(byOld))
  t.ok(both.isCurrent(byNew))
})

t.test('version 1 ciphertexts (no key id) are read with any key and resealed under the first', async t => {
  const [next, old] = [randomBytes(32), randomBytes(32)]
  const both = new Keyring([next, old])
  const v1 = legacy(old, 'secret', 'p')
  t.equal(decrypt(both, v1, 'p').toString(), 'secret')
  t.throws(() => decrypt(new Keyring([next]), v1, 'p'), /no key listed in MAILSLOT_ENCRYPTION_KEY opens it/)
  t.throws(() => decrypt(new Keyring([old]), legacy(old, 'secret', 'p'), 'other'), UndecryptableError)
  const resealed = reseal(both, v1, 'p')
  t.ok(resealed !== null && both.isCurrent(resealed))
  t.equal(decrypt(new Keyring([next]), resealed!, 'p').toString(), 'secret')
  t.equal(reseal(both, resealed!, 'p'), null, 'already under the first key')
  t.equal(reseal(new Keyring([old, next]), resealed!, 'p')?.[0], 2, 'resealed again when the first key changes')
})

t.test('the key id is bound: a header swapped to another key id does not open', async t => {
  const [a, b] = [randomBytes(32), randomBytes(32)]
  const sealedA = encrypt(new Keyring([a]), 'secret', 'p')
  const idB = encrypt(new Keyring([b]), 'x', 'p').subarray(1, 5)
  const forged = Buffer.concat([sealedA.subarray(0, 1), idB, sealedA.subarray(5)])
  t.throws(() => decrypt(new Keyring([a, b]), forged, 'p'), /does not authenticate/)
})
