/**
 * Listing a Graph folder by delta query, and the cursor that goes with it.
 *
 * Cursor `{deltaLink?, pending?}`: `deltaLink` is where the next listing
 * starts; a listing that found messages is `pending` (its own deltaLink, an
 * id its refs carry, how many of them are left) until every one of its refs
 * was processed. Only then does its deltaLink become the cursor, so a batch
 * that fails for good is listed again by the next sync instead of being
 * skipped. A stale or overlapping listing can only move the cursor back
 * (replays, which the unique keys dedupe), never past an unprocessed message.
 */
import { randomBytes } from 'node:crypto'
import type { MessageRef } from '../types.ts'
import type { GraphConnection } from './connection.ts'
import { statusOf } from './errors.ts'
import { errorCode } from '../../shared/errors.ts'

export interface GraphCursor {
  deltaLink?: string
  pending?: { id: string, deltaLink: string, remaining: number }
}

export interface GraphRef extends MessageRef { listing: string }

interface DeltaItem { id: string, isRead?: boolean, receivedDateTime?: string, '@removed'?: unknown }
interface DeltaPage { value?: DeltaItem[], '@odata.nextLink'?: string, '@odata.deltaLink'?: string }

/** Messages per delta page asked for (Prefer: odata.maxpagesize). */
const PAGE_SIZE = 200
/** A delta round that never ends (a server bug) must not loop forever. */
const MAX_PAGES = 10_000

export function isGraphCursor (c: unknown): c is GraphCursor {
  return typeof c === 'object' && c !== null && !Array.isArray(c)
}

/** 410 Gone or syncStateNotFound: the delta token expired; start over. */
function syncStateLost (err: unknown): boolean {
  const code = errorCode(err) ?? ''
  return statusOf(err) === 410 || /syncStateNotFound|resyncRequired/i.test(code)
}

export interface Listing { refs: GraphRef[], cursor: GraphCursor }

/**
 * What is new since the cursor. A full listing (first sync, or the token
 * expired) skips read messages when `skipRead` (afterDelivery `seen`: read
 * means processed or read by a person), as IMAP lists only unseen mail then.
 */
export async function listByDelta (conn: GraphConnection, folderPath: string, cursor: unknown, skipRead: boolean): Promise<Listing> {
  const c = isGraphCursor(cursor) ? cursor : {}
  let from = c.deltaLink
  let round: { items: DeltaItem[], deltaLink: string }
  try {
    round = await deltaRound(conn, folderPath, from)
  } catch (err) {
    if (from === undefined || !syncStateLost(err)) throw err
    from = undefined
    round = await deltaRound(conn, folderPath, undefined)
  }
  const full = from === undefined
  const byId = new Map<string, DeltaItem>()
  for (const item of round.items) {
    if (item['@removed'] !== undefined) { byId.delete(item.id); continue }
    if (full && skipRead && item.isRead === true) continue
    byId.set(item.id, item)
  }
  const items = [...byId.values()].sort((a, b) => (a.receivedDateTime ?? '').localeCompare(b.receivedDateTime ?? ''))
  if (items.length === 0) return { refs: [], cursor: { deltaLink: round.deltaLink } }
  const listing = randomBytes(6).toString('base64url')
  return {
    refs: items.map(i => ({ key: i.id, listing })),
    cursor: { deltaLink: from, pending: { id: listing, deltaLink: round.deltaLink, remaining: items.length } }
  }
}

async function deltaRound (
  conn: GraphConnection, folderPath: string, from: string | undefined
): Promise<{ items: DeltaItem[], deltaLink: string }> {
  // changeType=created: our own "mark read" must not come back as news
  let url = from ?? `${folderPath}/messages/delta?changeType=created&$select=id,isRead,receivedDateTime`
  const items: DeltaItem[] = []
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await conn.call(async request => await request(url, [`odata.maxpagesize=${PAGE_SIZE}`]).get() as DeltaPage)
    items.push(...(page.value ?? []))
    if (page['@odata.deltaLink'] !== undefined) return { items, deltaLink: page['@odata.deltaLink'] }
    if (page['@odata.nextLink'] === undefined) throw new Error('Graph delta page has neither a nextLink nor a deltaLink')
    url = page['@odata.nextLink']
  }
  throw new Error(`Graph delta did not end after ${MAX_PAGES} pages`)
}

/** The cursor once these refs are processed (batch.ts calls this under a row lock). */
export function advanceGraphCursor (cursor: unknown, refs: MessageRef[]): unknown {
  if (!isGraphCursor(cursor) || cursor.pending === undefined) return cursor
  const p = cursor.pending
  const done = refs.filter(r => r.listing === p.id).length
  if (done === 0) return cursor
  if (p.remaining - done <= 0) return { deltaLink: p.deltaLink }
  return { ...cursor, pending: { ...p, remaining: p.remaining - done } }
}
