/**
 * IMAP adapter. Cursor: {uidValidity, lastUid, floor?}, the highest UID
 * processed in that UIDVALIDITY; which messages are new is search.ts's rule
 * (imap.search). A UIDVALIDITY change voids the cursor: the folder is
 * searched afresh and the Message-ID + checksum check keeps messages from
 * being stored twice. Fetching uses BODY.PEEK, so nothing is marked before
 * markProcessed.
 */
import type { ImapFlow } from 'imapflow'
import type { AfterDelivery, ImapSearch, ImapSettings } from '../../mailboxes/types.ts'
import { type AccessTokens, type FetchedMessage, type ListResult, type MessageRef, type Provider } from '../types.ts'
import { loginImap } from './connect.ts'
import { searchUids, type ImapCursor } from './search.ts'
import { headerBlock } from '../../shared/mime.ts'
import { errorMessage } from '../../shared/errors.ts'

interface ImapRef extends MessageRef { uid: number, uidValidity: string }

const refKey = (uidValidity: string, uid: number): string => `${uidValidity}:${uid}`

/**
 * Messages up to this size are listed without their exact size (it takes a
 * FETCH response per message to learn it): their ref says SMALL_BYTES, an
 * upper bound that batch cutting can rely on.
 */
export const SMALL_BYTES = 256 * 1024

export function isImapCursor (c: unknown): c is ImapCursor {
  return typeof c === 'object' && c !== null && typeof (c as ImapCursor).uidValidity === 'string' && typeof (c as ImapCursor).lastUid === 'number'
}

/** A compact IMAP sequence set: 1:5,7,9:12 */
export function uidSet (uids: number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b)
  const parts: string[] = []
  for (let i = 0; i < sorted.length; i++) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}:${sorted[j]}`)
    i = j
  }
  return parts.join(',')
}

export class ImapProvider implements Provider {
  private readonly settings: ImapSettings
  private readonly afterDelivery: AfterDelivery
  /** A connected mailbox's (imap.auth.oauthApp): logs in with XOAUTH2. */
  private readonly tokens: AccessTokens | undefined
  private client: ImapFlow | undefined
  private lock: { release: () => void } | undefined

  constructor (settings: ImapSettings, afterDelivery: AfterDelivery = 'seen', tokens?: AccessTokens) {
    this.settings = settings
    this.afterDelivery = afterDelivery
    this.tokens = tokens
  }

  private async login (): Promise<ImapFlow> {
    return await loginImap(this.settings, this.tokens)
  }

  private get folder (): string { return this.settings.folder ?? 'INBOX' }
  private get search (): ImapSearch { return this.settings.search ?? 'unseen' }

  /** Connects and opens the folder once per provider instance (one session). */
  private async open (): Promise<ImapFlow> {
    const client = this.client ?? (this.client = await this.login())
    if (this.lock === undefined) {
      try {
        this.lock = await client.getMailboxLock(this.folder)
      } catch (err) {
        const reason = (err as { responseText?: string }).responseText ?? errorMessage(err)
        throw new Error(`IMAP folder "${this.folder}" cannot be opened: ${reason}`)
      }
    }
    return client
  }

  /**
   * One STATUS before the folder is opened: a folder with nothing to take is
   * not opened at all, so an empty poll is a login, a STATUS and a logout.
   * Search `new` takes this way only once its floor is set (its first
   * listing sets it); a STATUS that fails leaves the answer to the SELECT.
   */
  private async nothingToTake (cursor: unknown): Promise<boolean> {
    if (this.lock !== undefined) return false
    const client = this.client ?? (this.client = await this.login())
    const status = await client.status(this.folder, { messages: true, unseen: true, uidValidity: true }).catch(() => false as const)
    if (status === false) return false
    if (this.search === 'new' && !(isImapCursor(cursor) && cursor.uidValidity === String(status.uidValidity) && cursor.floor !== undefined)) return false
    return status.messages === 0 || (this.search !== 'all' && status.unseen === 0)
  }

  private uidValidity (client: ImapFlow): string {
    const mb = client.mailbox
    if (mb === false || mb === undefined) throw new Error('no IMAP folder is open')
    return String(mb.uidValidity)
  }

  async listNew (cursor: unknown): Promise<ListResult> {
    if (await this.nothingToTake(cursor)) return { refs: [] }
    const client = await this.open()
    const validity = this.uidValidity(client)
    const c = isImapCursor(cursor) && cursor.uidValidity === validity ? cursor : undefined
    const found = await searchUids(client, this.search, this.afterDelivery, c, validity)
    const uids = new Set(found.uids)
    const next = found.cursor === undefined ? {} : { cursor: found.cursor }
    if (uids.size === 0) return { refs: [], ...next }
    // sizes are read only for messages above SMALL_BYTES (one SEARCH, a FETCH
    // of the few): the others are counted at SMALL_BYTES when batches are cut
    const set = uidSet([...uids])
    const large = new Set((await client.search({ uid: set, larger: SMALL_BYTES }, { uid: true })) || [])
    const sizes = new Map<number, number>()
    if (large.size > 0) {
      const listed = await client.fetchAll(uidSet([...large]), { uid: true, size: true }, { uid: true })
      for (const m of listed) sizes.set(m.uid, m.size ?? SMALL_BYTES)
    }
    const refs: ImapRef[] = [...uids]
      .sort((a, b) => a - b)
      .map(uid => ({ key: refKey(validity, uid), uid, uidValidity: validity, size: sizes.get(uid) ?? SMALL_BYTES }))
    return { refs, ...next }
  }

  async fetchRaw (refs: MessageRef[], maxBytes: number): Promise<FetchedMessage[]> {
    const client = await this.open()
    const validity = this.uidValidity(client)
    // refs of an older UIDVALIDITY name messages that no longer exist by that UID
    const current = (refs as ImapRef[]).filter(r => r.uidValidity === validity)
    const byUid = new Map(current.map(r => [r.uid, r]))
    // a limit below SMALL_BYTES cannot trust a ref's bound: the bytes decide below
    const small = current.filter(r => (r.size ?? 0) <= Math.max(maxBytes, SMALL_BYTES)).map(r => r.uid)
    const large = current.filter(r => (r.size ?? 0) > Math.max(maxBytes, SMALL_BYTES)).map(r => r.uid)
    const out: FetchedMessage[] = []
    if (small.length > 0) {
      for (const m of await client.fetchAll(uidSet(small), { uid: true, source: true }, { uid: true })) {
        const ref = byUid.get(m.uid)
        if (ref === undefined || m.source === undefined) continue
        // the size told by LIST may be stale; the bytes decide
        if (m.source.length > maxBytes) out.push({ ref, raw: headerBlock(m.source), complete: false })
        else out.push({ ref, raw: m.source, complete: true })
      }
    }
    if (large.length > 0) {
      for (const m of await client.fetchAll(uidSet(large), { uid: true, headers: true }, { uid: true })) {
        const ref = byUid.get(m.uid)
        if (ref !== undefined && m.headers !== undefined) out.push({ ref, raw: m.headers, complete: false })
      }
    }
    return out.sort((a, b) => (a.ref.uid as number) - (b.ref.uid as number))
  }

  async markProcessed (refs: MessageRef[]): Promise<void> {
    if (refs.length === 0) return
    const client = await this.open()
    const validity = this.uidValidity(client)
    const uids = (refs as ImapRef[]).filter(r => r.uidValidity === validity).map(r => r.uid)
    if (uids.length === 0) return
    const range = uidSet(uids)
    const action = this.afterDelivery
    // SILENT: no FETCH response per message to parse
    if (action === 'seen') await client.messageFlagsAdd(range, ['\\Seen'], { uid: true, silent: true })
    else if (action === 'delete') await client.messageDelete(range, { uid: true })
    else {
      const target = action.slice('move:'.length)
      const moved = await client.messageMove(range, target, { uid: true })
      if (moved === false) throw new Error(`IMAP move to "${target}" failed (does the folder exist?)`)
    }
  }

  advanceCursor (cursor: unknown, refs: MessageRef[]): unknown {
    if (refs.length === 0) return cursor
    const validity = String(refs[0].uidValidity)
    const top = Math.max(...(refs as ImapRef[]).filter(r => r.uidValidity === validity).map(r => r.uid))
    const c: ImapCursor = isImapCursor(cursor) && cursor.uidValidity === validity ? cursor : { uidValidity: validity, lastUid: 0 }
    return { ...c, lastUid: Math.max(c.lastUid, top) }
  }

  async close (): Promise<void> {
    this.lock?.release()
    const client = this.client
    this.client = undefined
    if (client === undefined) return
    await client.logout().catch(() => client.close())
  }
}
