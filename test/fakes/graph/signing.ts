// RS256 signing keys of the fake identity providers and their JWKS, so ID
// tokens verify like real ones (openid-client, jose). Signing is synchronous
// (node:crypto) so the token endpoints stay simple request -> answer code.
import { type KeyObject, createHash, generateKeyPairSync, sign } from 'node:crypto'
import { b64 } from './tokens.ts'

export interface SigningKey { kid: string; privateKey: KeyObject; jwk: Record<string, unknown> }

// One key per provider and process: RSA generation costs ~50 ms.
const keys = new Map<string, SigningKey>()

export function signingKey (provider: string): SigningKey {
  let key = keys.get(provider)
  if (!key) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const jwk = publicKey.export({ format: 'jwk' })
    const kid = createHash('sha256').update(jwk.n ?? '').digest('base64url').slice(0, 27)
    key = { kid, privateKey, jwk: { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n: jwk.n, e: jwk.e } }
    keys.set(provider, key)
  }
  return key
}

/** A compact JWS (RS256) over the claims, with the provider key's `kid`. */
export function signJwt (provider: string, claims: Record<string, unknown>): string {
  const key = signingKey(provider)
  const input = `${b64({ typ: 'JWT', alg: 'RS256', kid: key.kid })}.${b64(claims)}`
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`
}
