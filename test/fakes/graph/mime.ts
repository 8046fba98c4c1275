// Just enough RFC 5322 header parsing for the fields Graph exposes as JSON.

/** Header name (lower case) → first value, unfolded. Reads only the header block. */
export function parseHeaders (raw: Buffer): Map<string, string> {
  // latin1 maps bytes 1:1, so the index found is a byte offset.
  const end = raw.toString('latin1').search(/\r?\n\r?\n/)
  const bytes = end === -1 ? raw : raw.subarray(0, end)
  let block: string
  try { block = new TextDecoder('utf-8', { fatal: true }).decode(bytes) } catch { block = bytes.toString('latin1') }
  const headers = new Map<string, string>()
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    if (!headers.has(name)) headers.set(name, decodeWords(line.slice(colon + 1).trim()))
  }
  return headers
}

/** Decode RFC 2047 encoded words (=?utf-8?B?...?=) so subjects look like Graph's. */
function decodeWords (value: string): string {
  // Whitespace between two adjacent encoded words is not part of the text.
  return value.replace(/(\?=)\s+(?==\?)/g, '$1').replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_all, charset: string, enc: string, data: string) => {
    const bytes = enc.toUpperCase() === 'B'
      ? Buffer.from(data, 'base64')
      : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1')
    try { return new TextDecoder(charset).decode(bytes) } catch { return bytes.toString('latin1') }
  })
}
