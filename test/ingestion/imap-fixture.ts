/** A Dovecot user + a mailslot runtime + an IMAP mailbox pointing at it. */
import type { Test } from 'tap'
import { startDovecot, type Dovecot, type DovecotUser } from '../helpers/dovecot.ts'
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'

export interface ImapFixture { imap: Dovecot, rt: TestRuntime }

export async function imapFixture (t: Test, opts: { env?: Record<string, string>, role?: 'all' | 'worker' | 'web' } = {}): Promise<ImapFixture> {
  const imap = await startDovecot()
  t.teardown(async () => await imap.stop())
  const rt = await startTestRuntime(t, { env: opts.env, role: opts.role })
  return { imap, rt }
}

export function imapMailbox (imap: Dovecot, u: DovecotUser, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `mb-${u.user.split('@')[0]}`,
    provider: 'imap',
    imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password, connectTimeoutSeconds: 5 },
    address: 'incoming+%{key}@example.com',
    delivery: { kind: 'builtin' },
    ...over
  }
}
