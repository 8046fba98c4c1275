/**
 * `mailslot dev send --to ADDRESS [--subject S] [--body B] [--mailbox NAME]`:
 * a message dropped into a mailbox of the environment `npm run dev` runs
 * (found through its state file, dev-state.ts). An IMAP mailbox gets an IMAP
 * APPEND into the dev Dovecot; a Graph mailbox a message in the fake's Inbox.
 * Then it asks mailslot to poll that mailbox now (POST /api/v1/mailboxes/:name/poll),
 * as a push from the server would, instead of waiting for the next scheduled poll.
 * Exit 2 with one line when no dev environment runs or the mailbox is unknown.
 */
import { randomBytes } from 'node:crypto'
import { ImapFlow } from 'imapflow'
import { devDir, runningDevState, type DevMailbox, type DevState } from './dev-state.ts'
import { UsageError } from './usage-error.ts'

export interface DevSendInput { to?: string, subject?: string, body?: string, mailbox?: string }

/** An encoded-word for a header that is not plain ASCII (RFC 2047). */
function headerText (text: string): string {
  // printable ASCII is what a header may carry as is
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text).toString('base64')}?=`
}

function devMessage (to: string, subject: string, body: string): { raw: Buffer, messageId: string } {
  const messageId = `<dev-${Date.now()}-${randomBytes(6).toString('hex')}@dev.mailslot.test>`
  const raw = [
    'From: Dev Sender <sender@example.org>',
    `To: ${to}`,
    `Subject: ${headerText(subject)}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(body + '\n').toString('base64').replace(/.{76}/g, '$&\r\n'),
    ''
  ].join('\r\n')
  return { raw: Buffer.from(raw), messageId }
}

async function deliver (mailbox: DevMailbox, raw: Buffer): Promise<void> {
  if (mailbox.provider === 'imap') {
    const { host, port, user, password } = mailbox.imap
    const client = new ImapFlow({ host, port, secure: false, auth: { user, pass: password }, logger: false })
    client.on('error', () => { /* surfaced by the failing command */ })
    await client.connect()
    try { await client.append('INBOX', raw) } finally { await client.logout().catch(() => { client.close() }) }
    return
  }
  const res = await fetch(mailbox.graph.inbox, {
    method: 'POST', headers: { authorization: `Bearer ${mailbox.graph.token}`, 'content-type': 'message/rfc822' }, body: new Uint8Array(raw)
  })
  if (res.status !== 201) throw new Error(`the dev Graph fake refused the message: ${res.status} ${await res.text()}`)
}

/** True when mailslot queued a sync of the mailbox. */
async function pollNow (state: DevState, mailbox: string): Promise<boolean> {
  const res = await fetch(`${state.url}/api/v1/mailboxes/${encodeURIComponent(mailbox)}/poll`, {
    method: 'POST', headers: { authorization: `Bearer ${state.adminToken}` }
  }).catch(() => undefined)
  return res?.status === 202
}

export async function devSend (input: DevSendInput): Promise<number> {
  if (input.to === undefined || !/^[^@\s]+@[^@\s]+$/.test(input.to)) throw new UsageError('dev send needs --to ADDRESS (an email address)')
  const dir = devDir()
  const state = await runningDevState(dir)
  if (state === undefined) {
    process.stderr.write(`mailslot: no dev environment is running in ${dir}: start one with \`npm run dev\`\n`)
    return 2
  }
  const mailbox = input.mailbox === undefined ? state.mailboxes[0] : state.mailboxes.find(m => m.name === input.mailbox)
  if (mailbox === undefined) {
    process.stderr.write(`mailslot: no dev mailbox named "${input.mailbox}" (there are ${state.mailboxes.map(m => m.name).join(', ')})\n`)
    return 2
  }
  const { raw, messageId } = devMessage(input.to, input.subject ?? 'Hello from mailslot dev send', input.body ?? 'Sent by `mailslot dev send`.')
  await deliver(mailbox, raw)
  const polled = await pollNow(state, mailbox.name)
  process.stdout.write(`put ${messageId} to ${input.to} into ${mailbox.name} (${mailbox.provider}); ` +
    `${polled ? 'mailslot polls it now' : 'mailslot takes it at its next scheduled poll (the poll request failed)'}\n`)
  return 0
}
