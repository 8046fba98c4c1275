/**
 * Inbound email lifecycle: received → processing → delivered | rejected | failed.
 * - delivered: a handler ran to completion (`handler`, `result` say which and what);
 * - rejected: permanent, with a reason code (below); no reply is sent;
 * - failed: a handler or delivery kept failing; replayable.
 * Terminal states keep their raw bytes for the retention period.
 */
export const STATUSES = ['received', 'processing', 'delivered', 'rejected', 'failed'] as const
export type EmailStatus = (typeof STATUSES)[number]

export const TERMINAL: ReadonlySet<EmailStatus> = new Set(['delivered', 'rejected', 'failed'])

/** The rejection reason registry: stable codes, shown by the API and CLI. */
export const REJECTION_REASONS = {
  auto_generated: 'an auto-reply or bulk mail (Auto-Submitted, X-Autoreply, Precedence)',
  bounce: 'a delivery or read report (multipart/report), or mail from mailer-daemon',
  loop: 'mail coming back to mailslot: sent from the mailbox address, an X-Loop naming it, or a Message-ID mailslot made',
  no_key: 'no address carried a mail key for this mailbox',
  unknown_key: 'the mail key matches no known handler',
  project_not_found: 'the key names a project that does not exist or a wrong token',
  issue_not_found: 'the key names an issue or reply key that does not exist',
  too_large: 'larger than the mailbox limit: only its headers were kept',
  unparsable: 'not an email: no header block could be read',
  too_complex: 'past a MIME parser limit (a header block over 1 MB, more than 1,000 parts): it could not be read whole',
  empty: 'no content',
  unsupported: 'a kind of email this delivery does not handle (e.g. merge requests by email)',
  service_desk_disabled: 'Service Desk is off for the project'
} as const

export type RejectionReason = keyof typeof REJECTION_REASONS

/** Which handler or delivery ran (the `handler` of a delivered email). */
export type HandlerKind = 'create_issue' | 'service_desk' | 'create_note' | 'unsubscribe' | 'gitlab' | 'webhook'

/** What a handler or delivery reports for one email: its end state. */
export type Outcome =
  | { status: 'delivered', handler: HandlerKind, result: Record<string, unknown> }
  | { status: 'rejected', reason: RejectionReason, detail?: string, handler?: HandlerKind }

/** Thrown for a failure worth retrying (a delivery endpoint down, a 5xx). */
export class RetryableError extends Error {
  /** The least wait the other side asked for (Retry-After), in seconds. Default none. */
  readonly retryAfterSeconds?: number
  constructor (message: string, retryAfterSeconds?: number) {
    super(message)
    this.name = 'RetryableError'
    this.retryAfterSeconds = retryAfterSeconds
  }
}
