/**
 * Reading a big raw message without the memory it would otherwise cost:
 * node-pg assembles a row in a buffer that doubles as the bytes arrive, so a
 * big bytea read whole costs several times its size. Read in slices, a raw
 * costs its own size plus one slice.
 */
import type { Queryable } from '../db/pool.ts'

/** Raws up to this size are read whole (with the claim); bigger ones in slices of this size. */
export const RAW_SLICE_BYTES = 1024 * 1024

export async function readRawInSlices (db: Queryable, emailId: number, size: number): Promise<Buffer> {
  const out = Buffer.allocUnsafeSlow(size) // filled whole below
  for (let offset = 0; offset < size; offset += RAW_SLICE_BYTES) {
    const { rows } = await db.query<{ slice: Buffer | null }>(
      'SELECT substring(raw FROM $2::int FOR $3::int) AS slice FROM inbound_emails WHERE id = $1',
      [emailId, offset + 1, RAW_SLICE_BYTES])
    const slice = rows[0]?.slice
    if (slice === undefined || slice === null) throw new Error(`email ${emailId} has no raw message`)
    slice.copy(out, offset)
  }
  return out
}
