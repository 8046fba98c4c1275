/**
 * Reading a big raw message without the memory it would otherwise cost:
 * node-pg assembles a row in a buffer that doubles as the bytes arrive, so
 * one 25 MB bytea cost about 130 MB of RSS (bench:memory). Read in slices,
 * a raw costs its own size plus one slice.
 */
import type { QueryConfig } from 'pg'
import type { Queryable } from '../db/pool.ts'

/** Raws up to this size are read whole (with the claim); bigger ones in slices of this size. */
export const RAW_SLICE_BYTES = 1024 * 1024

export async function readRawInSlices (db: Queryable, emailId: number, size: number): Promise<Buffer> {
  if (!Number.isSafeInteger(emailId) || !Number.isSafeInteger(size)) throw new Error('email id and size must be integers')
  const out = Buffer.allocUnsafeSlow(size) // filled whole below
  for (let offset = 0; offset < size; offset += RAW_SLICE_BYTES) {
    // binary results (the bytes, not hex text) come only for statements
    // without parameters: the integers are written into the statement
    const { rows } = await db.query<{ slice: Buffer | null }>({
      text: `SELECT substring(raw FROM ${offset + 1} FOR ${RAW_SLICE_BYTES}) AS slice FROM inbound_email_raw WHERE email_id = ${emailId}`,
      binary: true
    } as QueryConfig)
    const slice = rows[0]?.slice
    if (slice === undefined || slice === null) throw new Error(`email ${emailId} has no raw message`)
    slice.copy(out, offset)
  }
  return out
}
