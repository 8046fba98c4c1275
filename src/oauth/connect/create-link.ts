/**
 * Creating a connect link (the API and the admin page): checks the request,
 * stores the link and answers its URL, `<MAILSLOT_PUBLIC_URL>/connect/<token>`.
 * The token is in that answer only; the link's public id names it afterwards.
 */
import type { AppContext } from '../../context.ts'
import { getMailboxView, type MailboxView } from '../../mailboxes/repository.ts'
import { sealSecrets, splitSecrets } from '../../mailboxes/secrets.ts'
import type { MailboxSpec } from '../../mailboxes/types.ts'
import { AppError, fieldError } from '../../shared/errors.ts'
import { listApps } from '../apps/repository.ts'
import { linkMailboxError } from './link-mailbox.ts'
import type { ConnectableMailbox } from '../connections/mailbox-spec.ts'
import { insertLink, type NewLink } from './links.ts'

export interface ConnectLinkRequest {
  /** An existing mailbox's name (reconnect it), or the JSON of the mailbox to create. */
  mailbox: string | Record<string, unknown>
  /** OAuth app names the customer may choose from. */
  apps: string[]
  /** Default DEFAULT_EXPIRY_MINUTES; 1 … MAX_EXPIRY_MINUTES. */
  expiresInMinutes?: number
}

export interface CreatedLink {
  id: string
  url: string
  expiresAt: string
}

/** A day: time to forward the link and for the customer to find a moment. */
export const DEFAULT_EXPIRY_MINUTES = 1440
/** A week. */
export const MAX_EXPIRY_MINUTES = 10080

type Ctx = Pick<AppContext, 'pool' | 'keyring' | 'settings'>

export async function createConnectLink (ctx: Ctx, req: ConnectLinkRequest): Promise<CreatedLink> {
  const publicUrl = ctx.settings.publicUrl
  if (publicUrl === undefined) throw new AppError('public_url_required')
  const expiresInMinutes = req.expiresInMinutes ?? DEFAULT_EXPIRY_MINUTES
  if (!Number.isInteger(expiresInMinutes) || expiresInMinutes < 1 || expiresInMinutes > MAX_EXPIRY_MINUTES) {
    throw fieldError('expiresInMinutes', `must be a whole number of minutes from 1 to ${MAX_EXPIRY_MINUTES}`)
  }
  const apps = await checkedApps(ctx, req.apps)
  const target = typeof req.mailbox === 'string' ? await reconnectTarget(ctx, req.mailbox) : await newMailboxTarget(ctx, req.mailbox)
  const { link, token } = await insertLink(ctx.pool, { ...target, apps, expiresInMinutes })
  return { id: link.id, url: `${publicUrl}/connect/${token}`, expiresAt: link.expiresAt.toISOString() }
}

async function checkedApps (ctx: Ctx, names: string[]): Promise<string[]> {
  if (!Array.isArray(names) || names.length === 0) throw fieldError('apps', 'must name at least one OAuth app')
  const known = new Set((await listApps(ctx.pool)).map(a => a.name))
  const unknown = names.find(name => !known.has(name))
  if (unknown !== undefined) throw fieldError('apps', `names no OAuth app: ${JSON.stringify(unknown)}`)
  return [...new Set(names)]
}

type Target = Pick<NewLink, 'mailbox' | 'mailboxId' | 'secrets' | 'loginHint'>

async function existingMailbox (ctx: Ctx, name: string): Promise<MailboxView | null> {
  try {
    return await getMailboxView(ctx.pool, name)
  } catch (err) {
    if (err instanceof AppError && err.code === 'not_found') return null
    throw err
  }
}

async function reconnectTarget (ctx: Ctx, name: string): Promise<Target> {
  const view = await existingMailbox(ctx, name)
  if (view === null) throw fieldError('mailbox', `names no mailbox: "${name}" (give an existing mailbox's name, or the JSON of a mailbox to create)`)
  return { mailbox: { name }, mailboxId: view.id, secrets: null, loginHint: accountOf(view) }
}

/** Whom the provider should offer to sign in: the connected account, else the mailbox's user when it is an address. */
function accountOf (view: MailboxView): string | null {
  const user = view.connection?.account ?? view.imap?.user ?? view.graph?.user
  return user?.includes('@') === true ? user : null
}

async function newMailboxTarget (ctx: Ctx, json: Record<string, unknown>): Promise<Target> {
  const bad = linkMailboxError(json, ctx.settings.webhookAllowPrivate)
  if (bad !== undefined) throw fieldError(bad.field, bad.message)
  const mailbox = json as ConnectableMailbox
  if (await existingMailbox(ctx, mailbox.name) !== null) throw new AppError('mailbox_exists', `a mailbox named "${mailbox.name}" exists: to reconnect it, give its name as "mailbox"`)
  const { config, secrets } = splitSecrets(mailbox as MailboxSpec)
  return { mailbox: config, mailboxId: null, secrets: sealSecrets(ctx.keyring, secrets), loginHint: null }
}
