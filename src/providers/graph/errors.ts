/**
 * What a failed Graph call means for mailslot: refused credentials or access
 * (the mailbox shows `auth_failed` and backs off) or anything else (a plain
 * failure, retried). Messages never carry the secret or the token.
 */
import { ProviderAuthError } from '../types.ts'

/** A Graph answer other than success; `status` -1 when no HTTP answer came. */
export class GraphRequestError extends Error {
  readonly status: number
  readonly code: string
  constructor (status: number, code: string, message: string) {
    super(message)
    this.name = 'GraphRequestError'
    this.status = status
    this.code = code
  }
}

interface SdkError { statusCode?: number, code?: string | null, message?: string, cause?: { message?: string, code?: string } }

/** Identity-platform failures the SDK reports with status -1 (no Graph answer). */
const TOKEN_ERROR = /invalid_client|unauthorized_client|invalid_tenant|invalid_scope|invalid_grant|AADSTS\d+/i
const TOKEN_ERROR_NAMES = new Set(['AuthenticationError', 'AuthenticationRequiredError'])

export function statusOf (err: unknown): number {
  return err instanceof GraphRequestError ? err.status : ((err as SdkError)?.statusCode ?? -1)
}

/** What the SDK said, with its cause; empty when it said nothing (an error answer streamed, not parsed). */
function describe (e: SdkError): string {
  const message = e.message ?? ''
  const cause = e.cause?.message !== undefined ? ` (${e.cause.code ?? ''} ${e.cause.message})` : ''
  return (message + cause).trim().slice(0, 1000)
}

/** The error to throw for an SDK error: ProviderAuthError for refused credentials or access. */
export function classify (err: unknown): Error {
  if (err instanceof GraphRequestError || err instanceof ProviderAuthError) return err
  const e = (err ?? {}) as SdkError
  const status = e.statusCode ?? -1
  const code = e.code ?? ''
  const message = describe(e)
  const said = message === '' ? '' : `: ${message}`
  if (status === 401 || status === 403) return new ProviderAuthError(`Graph refused access (${`${status} ${code}`.trim()})${said}`, { status, code })
  if (status === -1 && (TOKEN_ERROR_NAMES.has(code) || TOKEN_ERROR.test(message))) {
    return new ProviderAuthError(`Microsoft identity platform refused the app credentials: ${message}`)
  }
  const head = status === -1 ? 'Graph request failed' : `Graph answered ${status}${code === '' ? '' : ` ${code}`}`
  return new GraphRequestError(status, code, head + said)
}
