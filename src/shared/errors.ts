/**
 * The error registry: every error code the HTTP API answers, with its status.
 * Codes are stable: clients and operators script against them (docs/contract.md).
 * Field validation errors use the pattern `invalid_<field path>`, e.g.
 * `invalid_imap.port`, so the code names the bad field.
 * Also the one way to read what a catch got (asError, errorMessage,
 * errorCode) and to log it (`{ err }`, bareError for third-party errors).
 */
export const ERROR_CODES = {
  unauthorized: { status: 401, message: 'a valid Authorization: Bearer token is required' },
  not_found: { status: 404, message: 'no such resource' },
  mailbox_exists: { status: 409, message: 'a mailbox with that name exists' },
  project_exists: { status: 409, message: 'a project with that path exists' },
  oauth_app_exists: { status: 409, message: 'an OAuth app with that name exists' },
  oauth_app_in_use: { status: 409, message: 'a mailbox is connected through this OAuth app' },
  invalid_request: { status: 400, message: 'the request is malformed' },
  payload_too_large: { status: 413, message: 'the request body is too large' },
  unsupported_media_type: { status: 415, message: 'the content type is not supported' },
  rate_limited: { status: 429, message: 'too many requests' },
  not_replayable: { status: 409, message: 'the email cannot be replayed in its current state' },
  public_url_required: { status: 409, message: 'this needs MAILSLOT_PUBLIC_URL, the base URL people open links at' },
  unavailable: { status: 503, message: 'a dependency is unavailable' },
  internal_error: { status: 500, message: 'internal error' }
} as const

export type ErrorCode = keyof typeof ERROR_CODES | `invalid_${string}`

export class AppError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly field?: string
  constructor (code: ErrorCode, message?: string, field?: string) {
    const known = (ERROR_CODES as Record<string, { status: number, message: string }>)[code]
    super(message ?? known?.message ?? code)
    this.name = 'AppError'
    this.code = code
    this.status = known?.status ?? 400
    this.field = field
  }
}

/** A 400 naming the field: code `invalid_<field>`. */
export function fieldError (field: string, message: string): AppError {
  return new AppError(`invalid_${field}`, `${field} ${message}`, field)
}

/** The response schema of every error: {"error":{"code","message","field"?}}. */
export const errorResponseSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } }
    }
  }
} as const

/** What was thrown, as an Error: itself when it is one, else an Error with its message or text. */
export function asError (err: unknown): Error {
  if (err instanceof Error) return err
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string') return new Error(err.message)
  return new Error(String(err))
}

/** The message of what was thrown. */
export function errorMessage (err: unknown): string {
  return asError(err).message
}

/** The text `code` of what was thrown (a Node errno name, a PostgreSQL SQLSTATE), if it has one. */
export function errorCode (err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined
}

/**
 * The error with its class, message and stack only, to log as `{ err }`:
 * third-party errors (imapflow, the Graph SDK, @azure/identity) may keep a
 * request, an answer or credentials in their other properties.
 */
export function bareError (err: unknown): Error {
  const e = asError(err)
  const bare: Error = Object.create(Object.getPrototypeOf(e))
  return Object.assign(bare, { message: e.message, stack: e.stack })
}
