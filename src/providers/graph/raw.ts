/**
 * Raw MIME of a Graph message (`$value`) as bytes, never decoded as text (a
 * plain `.get()` would turn 8-bit mail into UTF-8 replacement characters).
 * Read as a stream so that a message over the size limit costs only its
 * header block, not a download of the whole thing into memory.
 */
import { ResponseType } from '@microsoft/microsoft-graph-client'
import { MAX_HEADER_BYTES, headerBlock, headerEnd } from '../../shared/mime.ts'
import type { GraphConnection } from './connection.ts'

export interface RawMessage { raw: Buffer, complete: boolean }

export async function downloadRaw (conn: GraphConnection, messagePath: string, maxBytes: number): Promise<RawMessage> {
  return await conn.call(async request => {
    const body = await request(`${messagePath}/$value`).responseType(ResponseType.STREAM).get() as ReadableStream<Uint8Array> | null
    if (body === null) return { raw: Buffer.alloc(0), complete: true }
    const chunks: Buffer[] = []
    let size = 0
    const reader = body.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return { raw: Buffer.concat(chunks, size), complete: true }
        chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))
        size += value.byteLength
        if (size > maxBytes) {
          const head = Buffer.concat(chunks, size)
          // too large: keep reading only until the header block is complete
          if (headerEnd(head) !== -1 || size > MAX_HEADER_BYTES) return { raw: headerBlock(head), complete: false }
        }
      }
    } finally {
      await reader.cancel().catch(() => {})
    }
  })
}
