/**
 * The raw pipeline mailslot is measured against, in the same run: one
 * imapflow session bulk-fetches every message, mailparser's simpleParser
 * parses each (with the options mailslot's parseEmail passes), and the raw
 * bytes go into a scratch table in the same PostgreSQL in INSERTs of 100
 * rows. No dedupe, no jobs, no state: the least work that still fetches,
 * parses and stores.
 */
import type { ImapFlowOptions } from 'imapflow'
import { simpleParser } from 'mailparser'
import type { Pool } from '../../src/db/pool.ts'
import { bulkFetch } from './common.ts'

const INSERT_ROWS = 100

export interface BaselineResult { seconds: number, fetchSeconds: number, parseSeconds: number, insertSeconds: number, count: number }

export async function runBaseline (imap: ImapFlowOptions, pool: Pool, expected: number): Promise<BaselineResult> {
  const table = `bench_raw_scratch_${process.pid}`
  // stored like inbound_emails.raw: uncompressed out-of-line bytes
  await pool.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, raw bytea NOT NULL)`)
  await pool.query(`ALTER TABLE ${table} ALTER COLUMN raw SET STORAGE EXTERNAL`)
  try {
    const started = performance.now()
    const raws = await bulkFetch(imap)
    const fetched = performance.now()
    if (raws.length !== expected) throw new Error(`baseline fetched ${raws.length} messages, expected ${expected}`)

    for (const raw of raws) {
      await simpleParser(raw, { skipTextToHtml: true, skipHtmlToText: true, skipImageLinks: true, keepCidLinks: true })
    }
    const parsed = performance.now()

    for (let i = 0; i < raws.length; i += INSERT_ROWS) {
      const rows = raws.slice(i, i + INSERT_ROWS)
      await pool.query(`INSERT INTO ${table} (raw) VALUES ${rows.map((_, j) => `($${j + 1})`).join(', ')}`, rows)
    }
    const inserted = performance.now()
    return {
      seconds: (inserted - started) / 1000,
      fetchSeconds: (fetched - started) / 1000,
      parseSeconds: (parsed - fetched) / 1000,
      insertSeconds: (inserted - parsed) / 1000,
      count: raws.length
    }
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${table}`)
  }
}
