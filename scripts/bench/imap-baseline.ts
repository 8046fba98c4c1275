/**
 * The raw pipeline mailslot is measured against, in the same run: one
 * imapflow session bulk-fetches every message, mailparser's simpleParser
 * parses each (with the options mailslot's parseEmail passes), and the raw
 * bytes go into a scratch table in the same PostgreSQL in INSERTs of 100
 * rows. With `items` (the issues workload), each batch also inserts one
 * issue-or-note row per email (its kind, the key of its To address, subject
 * and text) into a second scratch table, in the same transaction. No dedupe,
 * no jobs, no state, no iids: the least work that still fetches, parses and
 * stores what the workload asks for.
 */
import type { ImapFlowOptions } from 'imapflow'
import { simpleParser } from 'mailparser'
import type { Pool } from '../../src/db/pool.ts'
import { bulkFetch } from './common.ts'

const INSERT_ROWS = 100

export interface BaselineResult { seconds: number, fetchSeconds: number, parseSeconds: number, insertSeconds: number, count: number }

interface Item { kind: 'issue' | 'note', key: string, subject: string, text: string }

/** What the To address asks for: `incoming+<key>@…`, a new issue when the key ends `-issue`. */
function itemOf (to: string, subject: string, text: string): Item {
  const key = /\+([^@]+)@/.exec(to)?.[1] ?? ''
  return { kind: key.endsWith('-issue') ? 'issue' : 'note', key, subject, text }
}

export async function runBaseline (imap: ImapFlowOptions, pool: Pool, expected: number, items: boolean): Promise<BaselineResult> {
  const raw = `bench_raw_scratch_${process.pid}`
  const rows = `bench_item_scratch_${process.pid}`
  // stored like inbound_emails.raw: uncompressed out-of-line bytes
  await pool.query(`CREATE TABLE ${raw} (id bigserial PRIMARY KEY, raw bytea NOT NULL)`)
  await pool.query(`ALTER TABLE ${raw} ALTER COLUMN raw SET STORAGE EXTERNAL`)
  if (items) await pool.query(`CREATE TABLE ${rows} (id bigserial PRIMARY KEY, raw_id bigint NOT NULL, kind text NOT NULL, key text NOT NULL, subject text NOT NULL, body text NOT NULL)`)
  try {
    const started = performance.now()
    const raws = await bulkFetch(imap)
    const fetched = performance.now()
    if (raws.length !== expected) throw new Error(`baseline fetched ${raws.length} messages, expected ${expected}`)

    const parsedItems: Item[] = []
    for (const r of raws) {
      const m = await simpleParser(r, { skipTextToHtml: true, skipHtmlToText: true, skipImageLinks: true, keepCidLinks: true })
      if (items) parsedItems.push(itemOf([m.to ?? []].flat()[0]?.text ?? '', m.subject ?? '', m.text ?? ''))
    }
    const parsed = performance.now()

    for (let i = 0; i < raws.length; i += INSERT_ROWS) {
      const batch = raws.slice(i, i + INSERT_ROWS)
      const insertRaws = `INSERT INTO ${raw} (raw) VALUES ${batch.map((_, j) => `($${j + 1})`).join(', ')} RETURNING id`
      if (!items) { await pool.query(insertRaws, batch); continue }
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        const { rows: ids } = await client.query<{ id: number }>(insertRaws, batch)
        const its = parsedItems.slice(i, i + INSERT_ROWS)
        await client.query(
          `INSERT INTO ${rows} (raw_id, kind, key, subject, body) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])`,
          [ids.map(r => r.id), its.map(x => x.kind), its.map(x => x.key), its.map(x => x.subject), its.map(x => x.text)])
        await client.query('COMMIT')
      } finally { client.release() }
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
    await pool.query(`DROP TABLE IF EXISTS ${raw}, ${rows}`)
  }
}
