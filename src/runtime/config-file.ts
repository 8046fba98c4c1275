/**
 * MAILSLOT_CONFIG: a JSON file of declared mailboxes, applied at start.
 * `{"mailboxes": [<mailbox JSON>…]}`. Declared mailboxes are created or
 * updated; mailboxes not in the file are left alone.
 */
import { readFile } from 'node:fs/promises'
import { ConfigError } from '../config/settings.ts'
import { validateMailboxJson } from '../mailboxes/schema.ts'
import { upsertMailbox } from '../mailboxes/repository.ts'
import type { MailboxSpec } from '../mailboxes/types.ts'
import type { AppContext } from './context.ts'

export async function applyConfigFile (ctx: AppContext, file: string): Promise<void> {
  let doc: { mailboxes?: unknown }
  try {
    doc = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new ConfigError('MAILSLOT_CONFIG', `cannot read ${file}: ${(err as Error).message}`)
  }
  const mailboxes = doc.mailboxes ?? []
  if (!Array.isArray(mailboxes)) throw new ConfigError('MAILSLOT_CONFIG', `${file}: "mailboxes" must be an array`)
  mailboxes.forEach((m, i) => {
    const result = validateMailboxJson(m)
    if (!result.ok) throw new ConfigError('MAILSLOT_CONFIG', `${file}: mailboxes[${i}].${result.error.field} ${result.error.message}`)
  })
  for (const m of mailboxes as MailboxSpec[]) await upsertMailbox(ctx.pool, ctx.encryptionKey, m)
  ctx.log.info({ file, mailboxes: mailboxes.length }, 'config file applied')
}
