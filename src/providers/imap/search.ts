/**
 * Which UIDs of the open folder a poll takes: one UID SEARCH per listing.
 * `unseen` (default) is mail_room's UNSEEN, whatever afterDelivery does:
 * a message read before mailslot saw it is never taken, and an unseen one
 * (new, or stored but not yet marked) always is. `new` is mail_room's NEW
 * (UNSEEN RECENT) on the first sync, which sets the cursor's `floor`; from
 * then on, every unseen UID above it. `all` takes read messages too.
 */
import type { ImapFlow, SearchObject } from 'imapflow'
import type { AfterDelivery, ImapSearch } from '../../mailboxes/types.ts'

export interface ImapCursor {
  uidValidity: string
  lastUid: number
  /** Search `new`: UIDs up to it were in the folder before the first sync and are never taken. */
  floor?: number
}

/** The highest UID there can be: `n:MAX_UID` has none of `n:*`'s match of the highest UID when all are below n. */
const MAX_UID = 4294967295
const above = (uid: number): string => `${uid + 1}:${MAX_UID}`

/**
 * The UIDs to take, given the cursor of this UIDVALIDITY (undefined on a
 * first sync or after a UIDVALIDITY change); `cursor` is set when the
 * listing makes a new one to store.
 */
export async function searchUids (
  client: ImapFlow, search: ImapSearch, afterDelivery: AfterDelivery, c: ImapCursor | undefined, validity: string
): Promise<{ uids: number[], cursor?: ImapCursor }> {
  const mailbox = client.mailbox as { exists: number, uidNext?: number }
  const find = async (query: SearchObject): Promise<number[]> =>
    mailbox.exists === 0 ? [] : (await client.search(query, { uid: true })) || []
  if (search === 'unseen') return { uids: await find({ seen: false }) }
  if (search === 'all') {
    // processed messages leave the folder, or, when only marked, are below the cursor
    if (afterDelivery !== 'seen' || c === undefined) return { uids: await find({ all: true }) }
    return { uids: await find({ or: [{ seen: false }, { uid: above(c.lastUid) }] }) }
  }
  if (c?.floor !== undefined) return { uids: await find({ seen: false, uid: above(c.floor) }) }
  const uids = await find({ new: true })
  // what arrives after this session opened the folder is above uidNext - 1,
  // and what this listing took stays above the floor until it is processed
  const floor = uids.reduce((low, uid) => Math.min(low, uid), Number(mailbox.uidNext ?? 1)) - 1
  return { uids, cursor: { uidValidity: validity, lastUid: c?.lastUid ?? 0, floor } }
}
