/**
 * The admin session: a signed cookie that holds only its expiry and a random
 * id, never the admin token. Its HMAC key is derived from the first
 * encryption key and the admin token, so changing either ends every session
 * (and a stolen cookie is no offline test of guesses at the token: the
 * encryption key is 256 random bits). Stateless on purpose: any web process
 * checks it without a query; sign-out deletes the browser's cookie, and the
 * expiry bounds a copied one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Keyring } from '../shared/crypto.ts'

export const SESSION_COOKIE = 'mailslot_admin'
/** A working day: long enough not to interrupt, short enough that a forgotten browser is signed out by tomorrow. */
export const SESSION_SECONDS = 12 * 3600

export interface SessionKeys {
  key: Buffer
  /** Secure cookies: the public URL is https. */
  secure: boolean
}

export function sessionKeys (keyring: Keyring, adminToken: string, publicUrl: string | undefined): SessionKeys {
  const key = createHmac('sha256', keyring.keys[0]).update('mailslot admin session\0').update(adminToken).digest()
  return { key, secure: publicUrl?.startsWith('https:') === true }
}

const sign = (key: Buffer, payload: string): string => createHmac('sha256', key).update(payload).digest('base64url')

/** A new session's cookie value: `<expiry seconds>.<random id>.<signature>`. */
export function newSession (keys: SessionKeys, now = Date.now()): string {
  const payload = `${Math.floor(now / 1000) + SESSION_SECONDS}.${randomBytes(16).toString('base64url')}`
  return `${payload}.${sign(keys.key, payload)}`
}

/** True for a cookie value this installation signed that has not expired. */
export function validSession (keys: SessionKeys, value: string | undefined, now = Date.now()): boolean {
  if (value === undefined) return false
  const cut = value.lastIndexOf('.')
  if (cut < 0) return false
  const payload = value.slice(0, cut)
  const given = Buffer.from(value.slice(cut + 1))
  const expected = Buffer.from(sign(keys.key, payload))
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false
  const expiry = Number(payload.split('.')[0])
  return Number.isInteger(expiry) && expiry * 1000 > now
}

const cookieOptions = (keys: SessionKeys) => ({ path: '/admin', httpOnly: true, sameSite: 'strict' as const, secure: keys.secure })

export function setSessionCookie (reply: FastifyReply, keys: SessionKeys): void {
  void reply.setCookie(SESSION_COOKIE, newSession(keys), { ...cookieOptions(keys), maxAge: SESSION_SECONDS })
}

export function clearSessionCookie (reply: FastifyReply, keys: SessionKeys): void {
  void reply.clearCookie(SESSION_COOKIE, cookieOptions(keys))
}

export function hasSession (req: FastifyRequest, keys: SessionKeys): boolean {
  return validSession(keys, req.cookies[SESSION_COOKIE])
}

/** Every route of this scope needs a session (`req.signedIn`, set by the framework); without one the browser goes to the sign-in page. */
export function requireAdminSession (scope: FastifyInstance): void {
  scope.addHook('onRequest', async (req, reply) => {
    if (!req.signedIn) return await reply.redirect('/admin', 303)
  })
}
