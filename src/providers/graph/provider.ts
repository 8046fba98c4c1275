/**
 * Microsoft Graph adapter. Lists a folder by delta query (see delta.ts for the
 * cursor), downloads `$value` bytes, and applies afterDelivery: mark read
 * (PATCH isRead), move (POST move, to a folder given by id, well-known name
 * or display name) or delete (DELETE). Immutable ids throughout, so a ref's
 * key (the message id) survives moves. A message gone meanwhile (404) is
 * left out / counted as done. Requests run ≤ 4 at a time per mailbox.
 */
import type { AfterDelivery, GraphSettings } from '../../mailboxes/types.ts'
import type { AccessTokens, FetchedMessage, ListResult, MessageRef, Provider } from '../types.ts'
import { GraphConnection } from './connection.ts'
import { advanceGraphCursor, listByDelta } from './delta.ts'
import { statusOf } from './errors.ts'
import { downloadRaw } from './raw.ts'

interface Folder { id: string, displayName?: string }

/** A message that is gone (moved away, deleted) answers 404. */
const gone = (err: unknown): boolean => statusOf(err) === 404

export class GraphProvider implements Provider {
  private readonly conn: GraphConnection
  private readonly folder: string
  private readonly afterDelivery: AfterDelivery
  private destination: Promise<string> | undefined

  constructor (settings: GraphSettings, afterDelivery: AfterDelivery = 'seen', requestTimeoutMs?: number, tokens?: AccessTokens) {
    this.conn = new GraphConnection(settings, requestTimeoutMs, tokens)
    this.folder = settings.folder ?? 'Inbox'
    this.afterDelivery = afterDelivery
  }

  private get userPath (): string { return `/users/${this.conn.user}` }

  private messagePath (id: string): string { return `${this.userPath}/messages/${encodeURIComponent(id)}` }

  async listNew (cursor: unknown): Promise<ListResult> {
    const folderPath = `${this.userPath}/mailFolders/${encodeURIComponent(this.folder)}`
    return await listByDelta(this.conn, folderPath, cursor, this.afterDelivery === 'seen')
  }

  async fetchRaw (refs: MessageRef[], maxBytes: number): Promise<FetchedMessage[]> {
    const fetched = await Promise.all(refs.map(async (ref): Promise<FetchedMessage | undefined> => {
      try {
        const { raw, complete } = await downloadRaw(this.conn, this.messagePath(ref.key), maxBytes)
        return complete ? { ref, raw, complete: true } : { ref, raw, complete: false }
      } catch (err) {
        if (gone(err)) return undefined
        throw err
      }
    }))
    return fetched.filter(f => f !== undefined)
  }

  async markProcessed (refs: MessageRef[]): Promise<void> {
    if (refs.length === 0) return
    const action = this.afterDelivery
    const destinationId = action.startsWith('move:') ? await this.destinationId(action.slice('move:'.length)) : undefined
    await Promise.all(refs.map(async ref => {
      const path = this.messagePath(ref.key)
      try {
        await this.conn.call(async request => {
          if (destinationId !== undefined) await request(`${path}/move`).post({ destinationId })
          else if (action === 'delete') await request(path).delete()
          else await request(path).patch({ isRead: true })
        })
      } catch (err) {
        if (!gone(err)) throw err
      }
    }))
  }

  advanceCursor (cursor: unknown, refs: MessageRef[]): unknown {
    return advanceGraphCursor(cursor, refs)
  }

  async close (): Promise<void> {
    // the connection (client, token, gate) is shared process-wide: nothing to close
  }

  /** The id of the move target: an id or well-known name answers directly, else a display name among the top-level folders. */
  private async destinationId (name: string): Promise<string> {
    this.destination ??= this.resolveFolder(name)
    return await this.destination.catch(err => { this.destination = undefined; throw err })
  }

  private async resolveFolder (name: string): Promise<string> {
    try {
      return (await this.conn.call(async request => await request(`${this.userPath}/mailFolders/${encodeURIComponent(name)}`).select('id').get() as Folder)).id
    } catch (err) {
      if (statusOf(err) !== 404 && statusOf(err) !== 400) throw err
    }
    const { value } = await this.conn.call(async request => await request(`${this.userPath}/mailFolders`).top(999).select('id,displayName').get() as { value: Folder[] })
    const match = value.find(f => f.displayName?.toLowerCase() === name.toLowerCase())
    if (match === undefined) throw new Error(`Graph folder "${name}" (afterDelivery move) does not exist in ${this.conn.user}`)
    return match.id
  }
}
