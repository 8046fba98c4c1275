// Mailboxes, folders and messages as Exchange would hold them, plus the
// per-folder change log that delta queries and notifications are built from.
import { randomBytes, randomUUID } from 'node:crypto'
import { parseHeaders } from './mime.ts'

export interface Folder { id: string; displayName: string; wellKnownName?: string }

export interface StoredMessage {
  id: string
  folderId: string
  raw: Buffer
  internetMessageId: string
  subject: string
  from?: string
  isRead: boolean
  receivedMs: number
  /** insertion order, so listings are stable even within one millisecond */
  order: number
  changeKey: string
}

export interface Mailbox {
  id: string
  upn: string
  tenantId: string
  folders: Map<string, Folder>
  messages: Map<string, StoredMessage>
  deniedAccess: boolean
}

/** A change to a folder: a message came in ('added') or went away ('removed'). */
export interface FolderChange { seq: number; mailboxId: string; folderId: string; messageId: string; kind: 'added' | 'removed' | 'updated' }

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isGuid = (s: string): boolean => GUID.test(s)

/** Exchange-looking ids (base64url, '=' padded) so clients never assume a GUID. */
export function exchangeId (prefix = 'AAMkA'): string {
  return `${prefix}${randomBytes(33).toString('base64url')}AAA=`
}

const WELL_KNOWN: Array<[string, string]> = [['inbox', 'Inbox'], ['archive', 'Archive'], ['deleteditems', 'Deleted Items']]

export class MailStore {
  readonly mailboxes = new Map<string, Mailbox>()
  /** by folder id: delta rounds read one folder's history, never the whole store's */
  readonly changes = new Map<string, FolderChange[]>()
  /** lower-case UPN → mailbox, so lookups stay O(1) with thousands of mailboxes */
  private readonly byUpn = new Map<string, Mailbox>()
  seq = 0
  private order = 0
  private listeners: Array<(change: FolderChange, message: StoredMessage) => void> = []

  onChange (listener: (change: FolderChange, message: StoredMessage) => void): void { this.listeners.push(listener) }

  addMailbox (userIdOrUpn: string, opts: { id?: string; upn?: string; tenantId: string }): Mailbox {
    const id = (opts.id ?? (isGuid(userIdOrUpn) ? userIdOrUpn : randomUUID())).toLowerCase()
    const upn = opts.upn ?? (isGuid(userIdOrUpn) ? `${id}@fake.onmicrosoft.com` : userIdOrUpn)
    if (this.find(id) || this.find(upn)) throw new Error(`fake graph: mailbox ${userIdOrUpn} already exists`)
    const mailbox: Mailbox = { id, upn, tenantId: opts.tenantId, folders: new Map(), messages: new Map(), deniedAccess: false }
    for (const [wellKnownName, displayName] of WELL_KNOWN) {
      const folder = { id: exchangeId('AQMkA'), displayName, wellKnownName }
      mailbox.folders.set(folder.id, folder)
    }
    this.mailboxes.set(id, mailbox)
    this.byUpn.set(upn.toLowerCase(), mailbox)
    return mailbox
  }

  /** Users are addressed by GUID or by UPN (case-insensitive), like Graph. */
  find (user: string): Mailbox | undefined {
    const key = user.toLowerCase()
    return this.mailboxes.get(key) ?? this.byUpn.get(key)
  }

  get (user: string): Mailbox {
    const mailbox = this.find(user)
    if (!mailbox) throw new Error(`fake graph: no mailbox ${user}`)
    return mailbox
  }

  addFolder (user: string, displayName: string): Folder {
    const mailbox = this.get(user)
    const folder = { id: exchangeId('AQMkA'), displayName }
    mailbox.folders.set(folder.id, folder)
    return folder
  }

  /** Folder by id, well-known name or (for test convenience) display name. */
  findFolder (mailbox: Mailbox, ref: string): Folder | undefined {
    const byId = mailbox.folders.get(ref)
    if (byId) return byId
    const key = ref.toLowerCase()
    const folders = [...mailbox.folders.values()]
    return folders.find((f) => f.wellKnownName === key) ?? folders.find((f) => f.displayName.toLowerCase() === key)
  }

  folder (mailbox: Mailbox, ref: string): Folder {
    const folder = this.findFolder(mailbox, ref)
    if (!folder) throw new Error(`fake graph: no folder ${ref} in ${mailbox.upn}`)
    return folder
  }

  addMessage (user: string, folderRef: string, raw: Buffer | string): StoredMessage {
    const mailbox = this.get(user)
    const folder = this.folder(mailbox, folderRef)
    const bytes = Buffer.isBuffer(raw) ? Buffer.from(raw) : Buffer.from(raw, 'utf8')
    const headers = parseHeaders(bytes)
    const message: StoredMessage = {
      id: exchangeId(),
      folderId: folder.id,
      raw: bytes,
      // Exchange assigns a Message-ID when the mail has none.
      internetMessageId: headers.get('message-id') ?? `<${randomUUID()}@fake.outlook.com>`,
      subject: headers.get('subject') ?? '',
      from: headers.get('from'),
      isRead: false,
      receivedMs: Date.now(),
      order: ++this.order,
      changeKey: randomBytes(12).toString('base64'),
    }
    mailbox.messages.set(message.id, message)
    this.record(mailbox, message, 'added')
    return message
  }

  markRead (mailbox: Mailbox, message: StoredMessage, isRead: boolean): void {
    message.isRead = isRead
    message.changeKey = randomBytes(12).toString('base64')
    this.record(mailbox, message, 'updated')
  }

  /** Without immutable ids a moved message gets a new id, as in Exchange. */
  move (mailbox: Mailbox, message: StoredMessage, destination: Folder, keepId: boolean): StoredMessage {
    this.record(mailbox, message, 'removed')
    mailbox.messages.delete(message.id)
    const moved = { ...message, id: keepId ? message.id : exchangeId(), folderId: destination.id, changeKey: randomBytes(12).toString('base64') }
    mailbox.messages.set(moved.id, moved)
    this.record(mailbox, moved, 'added')
    return moved
  }

  remove (mailbox: Mailbox, message: StoredMessage): void {
    mailbox.messages.delete(message.id)
    this.record(mailbox, message, 'removed')
  }

  inFolder (mailbox: Mailbox, folderId: string | undefined): StoredMessage[] {
    return [...mailbox.messages.values()]
      .filter((m) => folderId === undefined || m.folderId === folderId)
      .sort((a, b) => a.order - b.order)
  }

  private record (mailbox: Mailbox, message: StoredMessage, kind: FolderChange['kind']): void {
    const change = { seq: ++this.seq, mailboxId: mailbox.id, folderId: message.folderId, messageId: message.id, kind }
    const history = this.changes.get(change.folderId)
    if (history) history.push(change)
    else this.changes.set(change.folderId, [change])
    for (const listener of this.listeners) listener(change, message)
  }
}
