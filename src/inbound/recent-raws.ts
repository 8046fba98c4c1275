/**
 * The raw bytes of emails this process stored a moment ago, so that its own
 * email-handle jobs need not read them back from PostgreSQL (as hex text of
 * twice their size, decoded on both sides). PostgreSQL stays the record: a
 * miss (another process stored it, it was evicted, a replay) reads the
 * database. Raws are immutable once stored, so a hit is the same bytes.
 */
import { LRUCache } from 'lru-cache'

/**
 * Bytes held at most; a raw larger than half of this is not held. Big raws
 * are where holding on pays most: read back from PostgreSQL, a raw costs its
 * size again and the garbage of the read.
 */
export const RECENT_RAW_BYTES = 64 * 1024 * 1024
/** An email not handled within this time is read from the database. */
const TTL_MS = 5 * 60_000

export type RecentRaws = LRUCache<number, Buffer>

export function recentRaws (maxBytes = RECENT_RAW_BYTES): RecentRaws {
  return new LRUCache<number, Buffer>({
    maxSize: maxBytes,
    maxEntrySize: maxBytes / 2,
    sizeCalculation: raw => Math.max(1, raw.length),
    ttl: TTL_MS
  })
}
