/**
 * What a handler or delivery is given for one email: the stored email and its
 * parse, never a provider. What it reports (Outcome) is the email's
 * lifecycle, in inbound/lifecycle.ts.
 */
import type { Outcome } from '../inbound/lifecycle.ts'
import type { Mailbox } from '../mailboxes/types.ts'
import type { ParsedEmail } from '../parsing/types.ts'
import type { AppContext } from '../context.ts'

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
