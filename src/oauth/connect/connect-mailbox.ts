/**
 * The mailbox a completed connect flow creates or reconnects, inside the
 * callback's transaction. Its provider settings follow from the app and the
 * account (connectedMailboxSpec); everything else from the link's mailbox
 * JSON (a new mailbox) or from the mailbox as it was (a reconnect: it keeps
 * its cursor, so no email comes twice, unless the provider changes, and its
 * folder and search settings when the protocol stays the same).
 */
import type { Queryable } from '../../db/pool.ts'
import { createMailbox, loadMailbox, upsertMailbox, type MailboxWriteContext } from '../../mailboxes/repository.ts'
import { joinSecrets, openSecrets } from '../../mailboxes/secrets.ts'
import { markReconnected } from '../../mailboxes/health.ts'
import { saveCursor } from '../../mailboxes/sync-state.ts'
import type { MailboxSpec } from '../../mailboxes/types.ts'
import { AppError } from '../../shared/errors.ts'
import { connectedMailboxSpec } from '../connections/mailbox-spec.ts'
import { readConnection } from '../connections/repository.ts'
import type { OAuthApp } from '../types.ts'
import type { ConnectLink } from './links.ts'

/** A reconnect signed in as another account than the one connected before. */
export class WrongAccountError extends Error {
  readonly expected: string
  constructor (expected: string) {
    super(`the mailbox is connected to ${expected}`)
    this.name = 'WrongAccountError'
    this.expected = expected
  }
}

export interface ConnectedMailbox { mailboxId: number, name: string, created: boolean }

export async function connectMailbox (
  ctx: MailboxWriteContext, tx: Queryable, link: ConnectLink, app: OAuthApp, account: string
): Promise<ConnectedMailbox> {
  if (link.mailboxId === null) {
    const base = joinSecrets(link.mailbox as MailboxSpec, openSecrets(ctx.keyring, link.secrets))
    const view = await createMailbox(ctx, tx, connectedMailboxSpec(app, account, base))
    return { mailboxId: view.id, name: view.name, created: true }
  }
  const before = await loadMailbox(tx, ctx.keyring, link.mailboxId)
  // deleting a mailbox deletes its links: the link just claimed would be gone
  if (before === null) throw new AppError('not_found', 'the mailbox was deleted')
  const connectedTo = (await readConnection(tx, before.id))?.account
  if (connectedTo !== undefined && connectedTo.toLowerCase() !== account.toLowerCase()) throw new WrongAccountError(connectedTo)
  const spec = connectedMailboxSpec(app, account, before.spec)
  if (spec.imap !== undefined && before.spec.imap !== undefined) Object.assign(spec.imap, pick(before.spec.imap, ['folder', 'search', 'connectTimeoutSeconds']))
  if (spec.graph !== undefined && before.spec.graph !== undefined) Object.assign(spec.graph, pick(before.spec.graph, ['folder']))
  const { view } = await upsertMailbox(ctx, tx, spec)
  if (before.spec.provider !== spec.provider) await saveCursor(tx, view.id, null)
  await markReconnected(ctx, tx, view.id)
  return { mailboxId: view.id, name: view.name, created: false }
}

function pick<T extends object, K extends keyof T> (o: T, keys: K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter(k => o[k] !== undefined).map(k => [k, o[k]])) as Partial<Pick<T, K>>
}
