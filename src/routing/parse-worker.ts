/**
 * The body of a parse thread (parse-pool.ts): raw bytes in, ParsedEmail (or
 * the rejection) out. Attachment contents travel back as their own
 * ArrayBuffers, so nothing larger than each part is copied between threads.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina'
import { parseEmail, type ParseOptions } from './parse.ts'
import type { ParsedEmail, ParseRejection } from './types.ts'

export interface ParseTask { raw: ArrayBuffer, opts: ParseOptions }

/** Attachment contents as plain ArrayBuffers: a Buffer arrives as a Uint8Array on the other side. */
export type WireParsed = ParseRejection | (Omit<ParsedEmail, 'attachments'> & { attachments: Array<Omit<ParsedEmail['attachments'][number], 'content'> & { content: ArrayBuffer }> })

export default async function parse (task: ParseTask): Promise<WireParsed> {
  const parsed = await parseEmail(Buffer.from(task.raw), task.opts)
  if ('rejected' in parsed) return parsed
  const wire = { ...parsed, attachments: parsed.attachments.map(a => ({ ...a, content: ownArrayBuffer(a.content) })) }
  // moved, not cloned: a 10 MB attachment is not copied a second time
  return move({
    get [transferableSymbol] () { return wire.attachments.map(a => a.content) },
    get [valueSymbol] () { return wire }
  }) as unknown as WireParsed
}

function ownArrayBuffer (b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer
}
