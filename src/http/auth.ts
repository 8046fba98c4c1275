/**
 * Bearer-token authentication for /api/v1. Failed attempts are rate limited
 * per client address; successful ones are not counted.
 */
import { timingSafeEqual, createHash } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import { AppError } from '../shared/errors.ts'

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

export function bearerMatches (header: string | undefined, token: string): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false
  // compare digests: constant time whatever the lengths
  return timingSafeEqual(digest(header.slice(7).trim()), digest(token))
}

/** Registers auth on the current scope (call inside the /api/v1 plugin). */
export async function requireAdminToken (app: FastifyInstance, token: string, failedPerMinute = 30): Promise<void> {
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
