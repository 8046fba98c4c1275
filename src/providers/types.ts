/**
 * The one provider interface: list new messages, fetch their raw bytes, mark
 * them processed. IMAP and Graph adapters implement it; nothing else in
 * mailslot knows which is which.
 */

/** A message reference; JSON-serialisable (it travels in mailbox-fetch jobs). */
export interface MessageRef {
  /** Unique within the mailbox: IMAP "<uidvalidity>:<uid>", Graph the message id. */
  key: string
  /** Size in bytes when the provider tells it before download. */
  size?: number
  [extra: string]: string | number | boolean | null | undefined
}

export type FetchedMessage =
  | { ref: MessageRef, raw: Buffer, complete: true }
  /** Larger than the limit: only the header block was downloaded. */
  | { ref: MessageRef, raw: Buffer, complete: false }

export interface ListResult {
  refs: MessageRef[]
  /**
   * When set, stored as the mailbox cursor right after listing, before any ref
   * is processed (e.g. a Graph delta round: its new link, or the listing that
   * is pending); advanceCursor then moves on from it. Default: unchanged.
   */
  cursor?: unknown
}

export interface Provider {
  /** Messages not yet processed, oldest first. */
  listNew: (cursor: unknown) => Promise<ListResult>
  /** Raw bytes; messages over maxBytes come back headers only. A ref that vanished is left out. */
  fetchRaw: (refs: MessageRef[], maxBytes: number) => Promise<FetchedMessage[]>
  /** Apply afterDelivery (seen, delete, move) to messages already committed in Postgres. */
  markProcessed: (refs: MessageRef[]) => Promise<void>
  /** The cursor after these refs were processed (given the previous cursor). */
  advanceCursor: (cursor: unknown, refs: MessageRef[]) => unknown
  close: () => Promise<void>
}

/** Thrown when the provider refused the credentials: the mailbox backs off. */
export class ProviderAuthError extends Error {
  /** The provider's answer when it gave one: HTTP status and error code (e.g. 403 ErrorAccessDenied). */
  readonly answer?: { status: number, code: string }
  constructor (message: string, answer?: { status: number, code: string }) {
    super(message)
    this.name = 'ProviderAuthError'
    this.answer = answer
  }
}

/**
 * The OAuth grant of a connected mailbox is gone (revoked, expired, password
 * reset): no refresh and no login until its owner reconnects it. The health
 * is already recorded (`reauth_required`) where this was found out.
 */
export class ReauthRequiredError extends Error {
  constructor (message: string) { super(message); this.name = 'ReauthRequiredError' }
}

/** A connected mailbox's access tokens (src/oauth/connections implements it). */
export interface AccessTokens {
  /**
   * A token valid for a while yet, refreshed ahead of expiry; after the
   * server refused `rejected`, one newer than it. `refreshed`: refreshed for
   * this call. Throws ReauthRequiredError when the grant is gone.
   */
  current: (rejected?: string) => Promise<{ token: string, refreshed: boolean }>
  /** The server refused a token just refreshed: the grant is gone (recorded); throws ReauthRequiredError. */
  refused: (message: string) => Promise<never>
}
