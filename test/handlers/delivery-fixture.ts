/**
 * One private Dovecot and one mailslot runtime for a test file, with quick
 * retries (MAILSLOT_HANDLE_RETRY_BASE_SECONDS), and IMAP mailboxes created
 * through the API with a given delivery, their emails already in the INBOX.
 */
import type { Test } from 'tap'
import type { Settings } from '../../src/config/settings.ts'
import { startDovecot, type Dovecot } from '../helpers/dovecot.ts'
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { waitFor } from '../helpers/wait.ts'

export interface EmailItem {
  id: number, status: string, reason: string | null, handler: string | null, result: any,
  attempts: number, lastError: string | null, messageId: string
}

export interface DeliveryFixture {
  imap: Dovecot
  rt: TestRuntime
  /** Creates a mailbox named `name` delivering to `delivery`, with `raws` in its INBOX (in order), and polls it. */
  mailbox: (name: string, delivery: Record<string, unknown>, raws: Buffer[]) => Promise<void>
  /** The mailbox's emails, oldest first. */
  emails: (name: string) => Promise<EmailItem[]>
  /** Waits until all `count` emails of the mailbox are delivered, rejected or failed. */
  settled: (name: string, count: number, timeoutMs?: number) => Promise<EmailItem[]>
}

export const RETRY_BASE_SECONDS = '0.2'

export async function deliveryFixture (
  t: Test, env: Record<string, string> = {}, settings: Partial<Settings> = {}
): Promise<DeliveryFixture> {
  const imap = await startDovecot()
  t.teardown(async () => await imap.stop())
  const rt = await startTestRuntime(t, { env: { MAILSLOT_HANDLE_RETRY_BASE_SECONDS: RETRY_BASE_SECONDS, ...env }, settings })

  const emails = async (name: string): Promise<EmailItem[]> => {
    const res = await rt.api('GET', `/api/v1/emails?mailbox=${name}&limit=1000`)
    return (res.body.items as EmailItem[]).sort((a, b) => a.id - b.id)
  }
  return {
    imap,
    rt,
    emails,
    async mailbox (name, delivery, raws) {
      const u = imap.addUser()
      await imap.appendMany(u.user, 'INBOX', raws)
      const res = await rt.api('POST', '/api/v1/mailboxes', {
        name,
        provider: 'imap',
        imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password: u.password, connectTimeoutSeconds: 5 },
        address: 'incoming+%{key}@example.com',
        delivery
      })
      if (res.status !== 201) throw new Error(`mailbox not created: ${res.text}`)
    },
    async settled (name, count, timeoutMs = 30_000) {
      return await waitFor(async () => {
        const items = await emails(name)
        return items.length === count && items.every(e => ['delivered', 'rejected', 'failed'].includes(e.status)) && items
      }, `${count} emails of ${name} settled`, timeoutMs)
    }
  }
}
