/**
 * The real mail_room, run by bench:forward beside mailslot on the same
 * machine and the same kind of messages: Debian's `ruby-mail-room`
 * (`apt install ruby-mail-room ruby-faraday`: the package leaves out
 * Faraday, which its postback needs; BENCH_MAILROOM=<path> for another one).
 * One process, one mailbox, its postback delivery to the same endpoint.
 * Debian packages mail_room 0.0.9, whose postback predates the JWT header
 * GitLab checks now: it sends `Authorization: Token token="…"`, which the
 * endpoint takes in its place (legacyTokenOf). Timed from the spawn to the
 * last arrival (its Ruby start included: the time to its first arrival is
 * printed beside it).
 */
import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { legacyTokenOf, type MailroomEndpoint } from './mailroom-endpoint.ts'
import { sleep } from './common.ts'

/** The mail_room executable: BENCH_MAILROOM, or `mail_room` on the PATH; undefined when there is none. */
export function findMailroom (): string | undefined {
  const candidates = process.env.BENCH_MAILROOM !== undefined && process.env.BENCH_MAILROOM !== ''
    ? [process.env.BENCH_MAILROOM]
    : (process.env.PATH ?? '').split(':').filter(d => d !== '').map(d => path.join(d, 'mail_room'))
  return candidates.find(file => { try { accessSync(file, constants.X_OK); return true } catch { return false } })
}

export interface MailroomResult { seconds: number, firstSeconds: number }

export async function runMailroom (
  bin: string, dir: string, imap: { host: string, port: number }, account: { user: string, password: string },
  endpoint: MailroomEndpoint, secret: Uint8Array, emails: number, timeoutMs: number
): Promise<MailroomResult> {
  const config = path.join(dir, `mail_room-${account.user.replace(/\W/g, '_')}.yml`)
  // mail_room's own YAML, as GitLab's mail_room.yml writes it
  await writeFile(config, [
    ':mailboxes:',
    `  - :email: ${JSON.stringify(account.user)}`,
    `    :password: ${JSON.stringify(account.password)}`,
    `    :host: ${JSON.stringify(imap.host)}`,
    `    :port: ${imap.port}`,
    '    :ssl: false',
    '    :start_tls: false',
    '    :name: "INBOX"',
    '    :search_command: "UNSEEN"',
    '    :delete_after_delivery: false',
    '    :delivery_method: postback',
    '    :delivery_options:',
    `      :delivery_url: ${JSON.stringify(`${endpoint.url}/api/v4/internal/mail_room/incoming_email`)}`,
    `      :delivery_token: ${JSON.stringify(legacyTokenOf(secret))}`,
    '      :content_type: "text/plain"',
    ''
  ].join('\n'))
  await endpoint.reset()
  const started = Date.now()
  const child = spawn(bin, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2000) })
  let exited = false
  child.on('exit', () => { exited = true })
  let firstAt = 0
  try {
    for (;;) {
      const stats = await endpoint.stats()
      if (firstAt === 0 && stats.distinct > 0) firstAt = Date.now()
      if (stats.refused > 0) throw new Error(`mail_room: ${stats.refused} requests refused by the endpoint`)
      if (stats.distinct >= emails) {
        if (stats.once !== emails) throw new Error(`mail_room: ${stats.distinct - stats.once} emails arrived more than once`)
        return { seconds: (stats.lastAt - started) / 1000, firstSeconds: (firstAt - started) / 1000 }
      }
      if (exited) throw new Error(`mail_room exited after ${stats.distinct} of ${emails} emails: ${stderr.trim()}`)
      if (Date.now() - started > timeoutMs) throw new Error(`mail_room: ${stats.distinct} of ${emails} emails in ${timeoutMs / 1000} s`)
      await sleep(100)
    }
  } finally {
    child.kill('SIGKILL')
  }
}
