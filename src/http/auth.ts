/**
 * Bearer-token authentication for /api/v1. Failed attempts are rate limited
 * per client address; successful ones are not counted.
 */
import { timingSafeEqual, createHash } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import { AppError } from '../shared/errors.ts'

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

/** `given` is the admin token; digests are compared: constant time whatever the lengths. */
export function tokenMatches (given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token))
}

export function bearerMatches (header: string | undefined, token: string): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false
  return tokenMatches(header.slice(7).trim(), token)
}

/** Registers auth on the current scope (call inside the /api/v1 plugin). */
/** Failed authentications a client may make per minute (the API and the sign-in page). */
export const FAILED_AUTH_PER_MINUTE = 30

export async function requireAdminToken (app: FastifyInstance, token: string, failedPerMinute = FAILED_AUTH_PER_MINUTE): Promise<void> {
  const authorized = (req: FastifyRequest): boolean => bearerMatches(req.headers.authorization, token)
  await app.register(rateLimit, {
    max: failedPerMinute,
    timeWindow: 60_000,
    allowList: (req) => authorized(req),
    errorResponseBuilder: (_req, ctx) => new AppError('rate_limited', `too many failed authentications; retry in ${ctx.after}`)
  })
  // preParsing: after the rate limiter's route-level onRequest hook (so failures
  // are counted), before the body is parsed or validated (so nothing leaks)
  app.addHook('preParsing', async (req) => {
    if (!authorized(req)) throw new AppError('unauthorized')
  })
}
