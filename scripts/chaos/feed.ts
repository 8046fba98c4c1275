/**
 * The emails of a run: each carries a unique token (`chaos<seed>x<n>`) in its
 * Message-ID, subject and first body line, so its effect can be found again.
 * Appended over IMAP; an APPEND that fails (Dovecot down) is tried again.
 */
import type { Dovecot } from '../../test/helpers/dovecot.ts'

export type Target =
  | { kind: 'issue', mailbox: string, user: string, to: string, projectId: number }
  | { kind: 'note', mailbox: string, user: string, to: string, projectId: number, issueIid: number }
  | { kind: 'webhook', mailbox: string, user: string, to: string }

export interface Sent { n: number, token: string, messageId: string, target: Target }

export function tokenOf (seed: number, n: number): string {
  return `chaos${seed}x${n}`
}

export function chaosEmail (token: string, messageId: string, target: Target): Buffer {
  const subject = target.kind === 'note' ? `Re: issue ${target.issueIid} [${token}]` : `Chaos ${target.kind} [${token}]`
  const lines = [
    'From: Chaos Sender <sender@chaos.example>',
    `To: ${target.to}`,
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `${token} says hello.`,
    '',
    'The quick brown fox jumps over the lazy dog.',
    ''
  ]
  return Buffer.from(lines.join('\r\n'))
}

/** APPEND, tried again every 250 ms until it goes through or the deadline passes. */
export async function appendWithRetry (imap: Dovecot, user: string, raw: Buffer, deadline: number): Promise<number> {
  let attempts = 0
  for (;;) {
    attempts++
    try {
      await imap.append(user, 'INBOX', raw)
      return attempts
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  }
}
