/**
 * Where an email is parsed: small ones on the event loop, big ones off it.
 * mailparser takes seconds over a 25 MB email; on the event loop that would
 * stall every fetch, query, heartbeat and webhook answer of the process. A
 * piscina pool of worker threads runs parse-worker.ts for those; threads
 * start on the first big email (most processes never start one) and stop
 * after a minute idle.
 */
import os from 'node:os'
import { Piscina } from 'piscina'
import { parseEmail, type ParseOptions } from './parse.ts'
import type { ParsedEmail, ParseRejection } from './types.ts'
import type { ParseTask, WireParsed } from './parse-worker.ts'

export interface EmailParser {
  parse: (raw: Buffer, opts?: ParseOptions) => Promise<ParsedEmail | ParseRejection>
  /** Whether an input of this many bytes is parsed on a thread. */
  offLoop: (bytes: number) => boolean
  close: () => Promise<void>
}

/**
 * Emails up to this size are parsed on the event loop: for them, handing the
 * bytes to a thread and the result back costs more CPU than the parse (measured
 * with bench:imap: 2.6 CPU-s per 2,000 × 7 KB through a thread, 1.4 inline).
 * Bigger ones would hold the loop (heartbeats, webhooks) for too long.
 */
export const INLINE_BYTES = 1024 * 1024

/** Threads: one core is left to the event loop (and PostgreSQL next to it). */
export function defaultParseThreads (): number {
  return Math.max(1, os.availableParallelism() - 1)
}

export function createEmailParser (threads = defaultParseThreads()): EmailParser {
  let pool: Piscina<ParseTask, WireParsed> | undefined
  const start = (): Piscina<ParseTask, WireParsed> => {
    pool ??= new Piscina({ filename: new URL('./parse-worker.ts', import.meta.url).href, minThreads: 0, maxThreads: threads, idleTimeout: 60_000 })
    return pool
  }
  return {
    offLoop: (bytes) => bytes > INLINE_BYTES,
    async parse (raw, opts = {}) {
      if (!this.offLoop(raw.length)) return await parseEmail(raw, opts)
      // the bytes are copied once into an ArrayBuffer of their own and moved:
      // a Buffer from node-pg is a view into a larger buffer that would be copied whole
      const own = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length) as ArrayBuffer
      const wire = await start().run({ raw: own, opts }, { transferList: [own] })
      if ('rejected' in wire) return wire
      return { ...wire, attachments: wire.attachments.map(a => ({ ...a, content: Buffer.from(a.content) })) }
    },
    async close () {
      await pool?.destroy()
      pool = undefined
    }
  }
}
