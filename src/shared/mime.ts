/** Byte-level facts about a raw message that need no parser. */

/** Largest header block looked at; a "header" longer than this is not one. */
export const MAX_HEADER_BYTES = 1024 * 1024

/** Where the header block ends (its blank line), or -1 while it has not ended. */
export function headerEnd (raw: Buffer): number {
  const crlf = raw.indexOf('\r\n\r\n')
  return crlf !== -1 ? crlf : raw.indexOf('\n\n')
}

/** The header block of a message, up to and including the first blank line (CRLF or LF). */
export function headerBlock (raw: Buffer): Buffer {
  const crlf = raw.indexOf('\r\n\r\n')
  const lf = raw.indexOf('\n\n')
  const ends = [crlf === -1 ? -1 : crlf + 4, lf === -1 ? -1 : lf + 2].filter(n => n > 0)
  const end = ends.length === 0 ? Math.min(raw.length, 64 * 1024) : Math.min(...ends)
  return raw.subarray(0, Math.min(end, MAX_HEADER_BYTES))
}
