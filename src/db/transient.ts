/**
 * Which database errors pass by themselves (the server restarting, a lost
 * connection, a deadlock victim) and are worth trying again, as opposed to
 * ones that will fail the same way every time (bad SQL, a constraint, a
 * wrong password).
 */
import { errorCode, errorMessage } from '../shared/errors.ts'

/** SQLSTATEs outside class 08 (connection exception) that pass by themselves. */
const TRANSIENT_STATES = new Set([
  '57P01', // admin_shutdown: the server is stopping, or the backend was terminated
  '57P02', // crash_shutdown: another backend crashed
  '57P03', // cannot_connect_now: the server is starting up or shutting down
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300' // too_many_connections
])

/** Node socket errors on the way to the server. */
const TRANSIENT_SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])

/** node-pg and pg-pool raise these as plain Errors, without a code. */
const TRANSIENT_MESSAGE = /^(Connection terminated|Client has encountered a connection error|timeout expired|Query read timeout)/

/** SQLSTATEs that no wait will cure: a wrong password, a missing role or database. */
const PERMANENT_CONNECT_STATES = new Set(['28P01', '28000', '3D000'])

/** True for an error worth retrying later; looks through `cause` and AggregateError (a host with several addresses). */
export function isTransientDbError (err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 4) return false
  const code = errorCode(err)
  if (code !== undefined && (code.startsWith('08') || TRANSIENT_STATES.has(code) || TRANSIENT_SOCKET.has(code))) return true
  if (code === undefined && TRANSIENT_MESSAGE.test(errorMessage(err))) return true
  if (err instanceof AggregateError && err.errors.some(e => isTransientDbError(e, depth + 1))) return true
  return 'cause' in err && isTransientDbError(err.cause, depth + 1)
}

/** True for a connection refused for good: wrong credentials, no such role or database. */
export function isPermanentConnectError (err: unknown): boolean {
  const code = errorCode(err)
  return code !== undefined && PERMANENT_CONNECT_STATES.has(code)
}
