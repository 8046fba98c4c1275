// Fault injection: the next N matching requests are delayed and/or answered
// with an error (429 + Retry-After, 503...), the way Graph misbehaves.
import type { TokenStore } from './tokens.ts'

export interface FaultMatch {
  method?: string
  /** substring of, or pattern for, pathname+search; default: any Graph (/v1.0/) request */
  path?: string | RegExp
}

export interface FaultSpec extends FaultMatch {
  /** answer with this status instead of handling the request; omit for a pure delay */
  status?: number
  /** seconds (may be fractional) for the Retry-After header */
  retryAfterSeconds?: number
  /** wait this long before answering (or before handling, when no status) */
  delayMs?: number
  code?: string
  message?: string
  /** how many matching requests are hit; default 1 */
  times?: number
}

export interface ActiveFault { readonly spec: FaultSpec; remaining: number; hits: number }

const DEFAULT_CODES: Record<number, [string, string]> = {
  429: ['TooManyRequests', 'Application is over its MailboxConcurrency limit.'],
  503: ['ServiceUnavailable', 'Service is temporarily unavailable. Please try again later.'],
  504: ['GatewayTimeout', 'The gateway did not receive a timely response.'],
  500: ['InternalServerError', 'An internal server error occurred.'],
}

export class Faults {
  readonly active: ActiveFault[] = []
  private readonly tokens: TokenStore

  constructor (tokens: TokenStore) { this.tokens = tokens }

  inject (spec: FaultSpec): ActiveFault {
    const fault = { spec, remaining: spec.times ?? 1, hits: 0 }
    this.active.push(fault)
    return fault
  }

  /** 429 TooManyRequests with Retry-After. */
  throttle (times = 1, retryAfterSeconds = 1, match: FaultMatch = {}): ActiveFault {
    return this.inject({ ...match, status: 429, retryAfterSeconds, times })
  }

  /** 503 ServiceUnavailable (retried by the Graph SDK). */
  unavailable (times = 1, match: FaultMatch = {}): ActiveFault {
    return this.inject({ ...match, status: 503, times })
  }

  /** Slow answers: matching requests wait `ms` before being handled. */
  delay (ms: number, times = 1, match: FaultMatch = {}): ActiveFault {
    return this.inject({ ...match, delayMs: ms, times })
  }

  /** Every access token issued so far answers 401 InvalidAuthenticationToken. */
  invalidateTokens (): void {
    this.tokens.invalidateAccessTokens()
  }

  clear (): void {
    this.active.length = 0
  }

  /** Consume one use of the first fault matching this request. */
  take (method: string, pathAndQuery: string): FaultSpec | undefined {
    const fault = this.active.find((f) => f.remaining > 0 && matches(f.spec, method, pathAndQuery))
    if (!fault) return undefined
    fault.remaining--
    fault.hits++
    if (fault.remaining === 0) this.active.splice(this.active.indexOf(fault), 1)
    return fault.spec
  }
}

function matches (spec: FaultSpec, method: string, pathAndQuery: string): boolean {
  if (spec.method && spec.method.toUpperCase() !== method) return false
  if (spec.path === undefined) return pathAndQuery.startsWith('/v1.0/')
  return typeof spec.path === 'string' ? pathAndQuery.includes(spec.path) : spec.path.test(pathAndQuery)
}

/** Graph error code/message and headers for a fault's status. */
export function faultResponse (spec: FaultSpec & { status: number }): { code: string; message: string; headers: Record<string, string> } {
  const [code, message] = DEFAULT_CODES[spec.status] ?? ['UnknownError', 'Injected fault.']
  const retryAfter = spec.retryAfterSeconds ?? (spec.status === 429 ? 1 : undefined)
  return {
    code: spec.code ?? code,
    message: spec.message ?? message,
    headers: retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
  }
}
