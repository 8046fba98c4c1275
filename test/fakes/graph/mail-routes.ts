// /v1.0/users/{id|upn}/... and /v1.0/me/...: folders, message listing, delta,
// raw MIME ($value), mark read, move and delete.
import { resolveMailbox } from './access.ts'
import type { Delta } from './delta.ts'
import { type GraphCtx, graphError, jsonBody, prefers, send } from './http.ts'
import type { Folder, Mailbox, MailStore, StoredMessage } from './mailstore.ts'
import { expand, link, messageJson, parseFilter, select } from './odata.ts'

/** `/users/{u}` or `/me`, then the rest; exported so the server can attribute requests to mailboxes. */
export const USER_PATH = /^\/(?:users\/([^/]+)|(me))(\/.*)?$/i
const FOLDER_PATH = /^\/mailfolders(?:\('([^']*)'\)|\/([^/]+))?(\/.*)?$/i
const MESSAGE_PATH = /^\/messages(?:\/([^/]+)(?:\/(\$value|move|permanentDelete))?)?$/i

export class MailRoutes {
  private readonly store: MailStore
  private readonly delta: Delta
  private readonly baseUrl: () => string

  constructor (store: MailStore, delta: Delta, baseUrl: () => string) {
    this.store = store
    this.delta = delta
    this.baseUrl = baseUrl
  }

  handle (ctx: GraphCtx, path: string): boolean {
    const user = path.match(USER_PATH)
    if (!user) return false
    const access = !user[3] ? 'profile' : ctx.method === 'GET' ? 'read' : 'write'
    const mailbox = resolveMailbox(ctx, this.store, user[2] ?? user[1], access)
    if (!mailbox) return true
    let rest = user[3] ?? ''
    let folder: Folder | undefined
    const folderMatch = rest.match(FOLDER_PATH)
    if (folderMatch) {
      const ref = folderMatch[1] ?? folderMatch[2]
      if (ref === undefined) {
        return this.get(ctx, () => send(ctx, 200, { value: [...mailbox.folders.values()].map((f) => folderJson(this.store, mailbox, f)) }))
      }
      folder = this.store.findFolder(mailbox, ref)
      if (!folder) { graphError(ctx, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.'); return true }
      rest = folderMatch[3] ?? ''
      if (rest === '') return this.get(ctx, () => send(ctx, 200, folderJson(this.store, mailbox, folder!)))
    } else if (rest === '') {
      return this.get(ctx, () => send(ctx, 200, { id: mailbox.id, userPrincipalName: mailbox.upn, mail: mailbox.upn, displayName: mailbox.upn.split('@')[0] }))
    }
    const messageMatch = rest.match(MESSAGE_PATH)
    if (!messageMatch) { graphError(ctx, 400, 'BadRequest', `Resource not found for the segment '${rest}'.`); return true }
    const [, id, action] = messageMatch
    if (id === undefined) return this.get(ctx, () => this.list(ctx, mailbox, folder))
    if (id.toLowerCase() === 'delta' && folder && !action) return this.get(ctx, () => this.delta.handle(ctx, mailbox, folder))
    const message = mailbox.messages.get(id)
    if (!message || (folder && message.folderId !== folder.id)) { graphError(ctx, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.'); return true }
    const route = `${ctx.method} ${action?.toLowerCase() ?? ''}`
    if (route === 'GET $value') send(ctx, 200, message.raw, { 'content-type': 'text/plain' })
    else if (route === 'GET ') send(ctx, 200, select(messageJson(mailbox, message), ctx.query.get('$select')))
    else if (route === 'PATCH ') this.patch(ctx, mailbox, message)
    else if (route === 'POST move') this.move(ctx, mailbox, message)
    else if (route === 'DELETE ') this.remove(ctx, mailbox, message)
    else if (route === 'POST permanentdelete') this.permanentDelete(ctx, mailbox, message)
    else graphError(ctx, 405, 'ErrorInvalidRequest', `The OData request is not supported: ${ctx.method}.`)
    return true
  }

  private get (ctx: GraphCtx, answer: () => void): true {
    if (ctx.method === 'GET') answer()
    else graphError(ctx, 405, 'ErrorInvalidRequest', `The OData request is not supported: ${ctx.method}.`)
    return true
  }

  /** Listing with $filter/$top/$skip/$select; paging by an absolute @odata.nextLink with $skip. */
  private list (ctx: GraphCtx, mailbox: Mailbox, folder: Folder | undefined): void {
    const filter = parseFilter(ctx.query.get('$filter'))
    if (typeof filter === 'string') return graphError(ctx, 400, 'ErrorInvalidUrlQueryFilter', filter)
    const top = Math.min(1000, Math.max(1, Number(ctx.query.get('$top') ?? 10) || 10))
    const skip = Math.max(0, Number(ctx.query.get('$skip') ?? 0) || 0)
    let messages = this.store.inFolder(mailbox, folder?.id).filter(filter)
    // Graph lists newest first unless $orderby says asc.
    if (/desc/i.test(ctx.query.get('$orderby') ?? 'receivedDateTime desc')) messages = messages.reverse()
    const value = messages.slice(skip, skip + top).map((m) => expand(select(messageJson(mailbox, m), ctx.query.get('$select')), m, ctx.query.get('$expand')))
    const more = skip + top < messages.length
    const params = Object.fromEntries([...ctx.query].filter(([k]) => k !== '$skip'))
    send(ctx, 200, {
      '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Collection(message)',
      value,
      ...(more ? { '@odata.nextLink': link(this.baseUrl(), ctx.url.pathname, { ...params, $top: String(top), $skip: String(skip + top) }) } : {}),
    })
  }

  private patch (ctx: GraphCtx, mailbox: Mailbox, message: StoredMessage): void {
    const body = jsonBody(ctx)
    if (!body || typeof body !== 'object') return graphError(ctx, 400, 'BadRequest', 'Empty Payload. JSON content expected.')
    if ('isRead' in body) {
      if (typeof body.isRead !== 'boolean') return graphError(ctx, 400, 'BadRequest', "Invalid value for property 'isRead'.")
      this.store.markRead(mailbox, message, body.isRead)
    }
    send(ctx, 200, messageJson(mailbox, message))
  }

  /** move → 201 with the message as it is now; a new id unless Prefer: IdType="ImmutableId". */
  private move (ctx: GraphCtx, mailbox: Mailbox, message: StoredMessage): void {
    const destinationId = jsonBody(ctx)?.destinationId
    const destination = typeof destinationId === 'string' ? this.store.findFolder(mailbox, destinationId) : undefined
    if (!destination) return graphError(ctx, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.')
    const moved = this.store.move(mailbox, message, destination, !!prefers(ctx, /IdType\s*=\s*"?ImmutableId"?/i))
    send(ctx, 201, messageJson(mailbox, moved))
  }

  /** DELETE moves the message to Deleted Items, like Outlook; from there it is gone for good. */
  private remove (ctx: GraphCtx, mailbox: Mailbox, message: StoredMessage): void {
    const trash = this.store.findFolder(mailbox, 'deleteditems')
    if (!trash || message.folderId === trash.id) this.store.remove(mailbox, message)
    else this.store.move(mailbox, message, trash, !!prefers(ctx, /IdType\s*=\s*"?ImmutableId"?/i))
    send(ctx, 204)
  }

  private permanentDelete (ctx: GraphCtx, mailbox: Mailbox, message: StoredMessage): void {
    this.store.remove(mailbox, message)
    send(ctx, 204)
  }
}

function folderJson (store: MailStore, mailbox: Mailbox, folder: Folder): object {
  const messages = store.inFolder(mailbox, folder.id)
  return {
    id: folder.id, displayName: folder.displayName, parentFolderId: `AQMkA${mailbox.id.replace(/-/g, '')}AAAEIAAAA=`, childFolderCount: 0,
    unreadItemCount: messages.filter((m) => !m.isRead).length, totalItemCount: messages.length,
    sizeInBytes: messages.reduce((n, m) => n + m.raw.length, 0), isHidden: false,
  }
}
