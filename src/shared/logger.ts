/** JSON logs (pino) with secrets redacted wherever they could appear. */
import { pino, type Logger } from 'pino'

export type { Logger }

/** Keys whose values are never logged, at any depth we log objects. */
const SECRET_KEYS = ['password', 'clientSecret', 'accessToken', 'refreshToken', 'secret', 'authorization', 'token', 'clientState', 'adminToken']

export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map(k => `*.${k}`),
  ...SECRET_KEYS.map(k => `*.*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie'
]

export function createLogger (level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }
  return destination === undefined ? pino(options) : pino(options, destination as pino.DestinationStream)
}
