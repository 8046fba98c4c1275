/**
 * What a handler or delivery reports for one email. Handlers never talk to a
 * provider; they get the stored email and its parse.
 */
import type { RejectionReason } from '../inbound/lifecycle.ts'
import type { Mailbox } from '../mailboxes/types.ts'
import type { ParsedEmail } from '../parsing/types.ts'
import type { AppContext } from '../context.ts'

export type HandlerKind = 'create_issue' | 'service_desk' | 'create_note' | 'unsubscribe' | 'gitlab' | 'webhook'

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

/** Lookups shared by the emails of one handled batch (e.g. the custom Service Desk addresses). */
export interface BatchMemo { once: <T>(key: string, load: () => Promise<T>) => Promise<T> }

export function batchMemo (): BatchMemo {
  const values = new Map<string, Promise<unknown>>()
  return {
    once: async <T>(key: string, load: () => Promise<T>): Promise<T> => {
      if (!values.has(key)) values.set(key, load())
      return await (values.get(key) as Promise<T>)
    }
  }
}

export interface StoredEmail {
  id: number
  mailboxId: number | null
  mailboxName: string
  raw: Buffer
  memo: BatchMemo
}

export type Dispatch = (ctx: AppContext, email: StoredEmail, parsed: ParsedEmail, mailbox: Mailbox) => Promise<Outcome>
