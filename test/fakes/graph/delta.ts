// GET .../mailFolders/{folder}/messages/delta: first a full listing in pages
// (@odata.nextLink), then an @odata.deltaLink that later returns only what
// changed since. expire() makes every old link answer 410 syncStateNotFound.
import { randomBytes } from 'node:crypto'
import { type GraphCtx, graphError, header, send } from './http.ts'
import type { Folder, Mailbox, MailStore } from './mailstore.ts'
import { link, messageJson, parseFilter, select } from './odata.ts'

interface Page {
  epoch: number; items: object[]; offset: number; seq: number; select: string | null; filter: string | null; changeType: string | null
}
interface Cursor {
  epoch: number; mailboxId: string; folderId: string; seq: number; select: string | null; filter: string | null; changeType: string | null
}

export interface DeltaOptions { defaultPageSize: number; reportUpdates: boolean }

export class Delta {
  private epoch = 0
  private readonly pages = new Map<string, Page>()
  private readonly cursors = new Map<string, Cursor>()
  private readonly store: MailStore
  private readonly options: DeltaOptions
  private readonly baseUrl: () => string

  constructor (store: MailStore, options: DeltaOptions, baseUrl: () => string) {
    this.store = store
    this.options = options
    this.baseUrl = baseUrl
  }

  /** Every next/delta link issued so far stops working (410 syncStateNotFound). */
  expire (): void {
    this.epoch++
    this.pages.clear()
    this.cursors.clear()
  }

  handle (ctx: GraphCtx, mailbox: Mailbox, folder: Folder): void {
    const skipToken = ctx.query.get('$skiptoken')
    const deltaToken = ctx.query.get('$deltatoken')
    let page: Page | undefined
    if (skipToken) {
      page = this.pages.get(skipToken)
    } else if (deltaToken) {
      const cursor = this.cursors.get(deltaToken)
      if (cursor && cursor.mailboxId === mailbox.id && cursor.folderId === folder.id) page = this.changesSince(mailbox, folder, cursor)
    } else {
      const filter = parseFilter(ctx.query.get('$filter'), false)
      if (typeof filter === 'string') return graphError(ctx, 400, 'ErrorInvalidUrlQueryFilter', `${filter} Delta only supports receivedDateTime filters.`)
      page = {
        epoch: this.epoch, offset: 0, seq: this.store.seq, select: ctx.query.get('$select'), filter: ctx.query.get('$filter'), changeType: ctx.query.get('changeType'),
        items: this.store.inFolder(mailbox, folder.id).filter(filter).map((m) => select(messageJson(mailbox, m), ctx.query.get('$select'))),
      }
    }
    if (!page || page.epoch !== this.epoch) {
      return graphError(ctx, 410, 'syncStateNotFound', 'The sync state generation is not found. Please restart the sync without a state token.')
    }
    const preferred = header(ctx, 'prefer').match(/odata\.maxpagesize=(\d+)/i)
    const size = preferred ? Math.max(1, Number(preferred[1])) : this.options.defaultPageSize
    const value = page.items.slice(page.offset, page.offset + size)
    const params = { $select: page.select, changeType: page.changeType }
    let next: Record<string, string>
    if (page.offset + size < page.items.length) {
      const token = randomBytes(24).toString('base64url')
      this.pages.set(token, { ...page, offset: page.offset + size })
      next = { '@odata.nextLink': link(this.baseUrl(), ctx.url.pathname, { ...params, $skiptoken: token }) }
    } else {
      const token = randomBytes(24).toString('base64url')
      this.cursors.set(token, {
        epoch: page.epoch, mailboxId: mailbox.id, folderId: folder.id, seq: page.seq,
        select: page.select, filter: page.filter, changeType: page.changeType
      })
      next = { '@odata.deltaLink': link(this.baseUrl(), ctx.url.pathname, { ...params, $deltatoken: token }) }
    }
    send(ctx, 200, { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Collection(message)', value, ...next },
      preferred ? { 'preference-applied': `odata.maxpagesize=${size}` } : {})
  }

  /**
   * What happened in the folder after the cursor: messages now in it that were
   * added (or, with reportUpdates, changed), and @removed for ones that left.
   */
  private changesSince (mailbox: Mailbox, folder: Folder, cursor: Cursor): Page {
    const touched = new Map<string, 'added' | 'updated' | 'removed'>()
    for (const change of this.store.changes.get(folder.id) ?? []) {
      if (change.seq <= cursor.seq) continue
      if (change.kind === 'updated' && touched.has(change.messageId)) continue
      touched.set(change.messageId, change.kind)
    }
    const filter = parseFilter(cursor.filter, false)
    const items: object[] = []
    for (const [id, kind] of touched) {
      const message = mailbox.messages.get(id)
      if (message && message.folderId === folder.id) {
        if (kind === 'updated' && !this.options.reportUpdates) continue
        if (typeof filter !== 'string' && !filter(message)) continue
        if (kind === 'updated' && cursor.changeType === 'created') continue
        items.push(select(messageJson(mailbox, message), cursor.select))
      } else if (cursor.changeType !== 'created') {
        items.push({ '@odata.type': '#microsoft.graph.message', id, '@removed': { reason: 'deleted' } })
      }
    }
    return {
      epoch: cursor.epoch, items, offset: 0, seq: this.store.seq,
      select: cursor.select, filter: cursor.filter, changeType: cursor.changeType
    }
  }
}
