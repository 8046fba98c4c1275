/**
 * Reads one Ruby literal from gitlab.rb text without evaluating Ruby:
 * strings ('…', "…" without interpolation), numbers, true/false/nil,
 * symbols, arrays and hashes (`'k' => v`, `k: v`). Anything else (a method
 * call, ENV[…], interpolation) is a LiteralError, never executed.
 */

export class LiteralError extends Error { override name = 'LiteralError' }

export type RubyValue = string | number | boolean | null | RubyValue[] | { [key: string]: RubyValue }

export interface Parsed { value: RubyValue, end: number }

const DOUBLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', s: ' ', 0: '\0', e: '\x1b' }

class Reader {
  pos: number
  readonly text: string
  constructor (text: string, start: number) { this.text = text; this.pos = start }

  /** Skips spaces, line breaks and `#` comments (inside a multi-line hash or array). */
  skip (): void {
    for (;;) {
      const m = /^(?:\s+|#[^\n]*)/.exec(this.text.slice(this.pos))
      if (m === null || m[0].length === 0) return
      this.pos += m[0].length
    }
  }

  rest (): string { return this.text.slice(this.pos) }

  fail (what: string): never {
    const near = this.rest().split('\n')[0].slice(0, 30)
    throw new LiteralError(`${what}${near === '' ? ' at the end' : ` near "${near}"`}`)
  }

  value (): RubyValue {
    this.skip()
    const c = this.text[this.pos]
    if (c === "'") return this.single()
    if (c === '"') return this.double()
    if (c === '{') return this.hash()
    if (c === '[') return this.array()
    const m = /^(?:(-?\d[\d_]*(?:\.\d[\d_]*)?)|(true|false|nil)\b|:([A-Za-z_]\w*[?!]?))/.exec(this.rest())
    if (m === null) this.fail('not a literal (string, number, true/false/nil, hash or array)')
    this.pos += m[0].length
    if (m[1] !== undefined) return Number(m[1].replace(/_/g, ''))
    if (m[2] !== undefined) return m[2] === 'nil' ? null : m[2] === 'true'
    return m[3]
  }

  single (): string {
    let out = ''
    for (let i = this.pos + 1; i < this.text.length; i++) {
      const c = this.text[i]
      if (c === '\\' && (this.text[i + 1] === "'" || this.text[i + 1] === '\\')) { out += this.text[++i]; continue }
      if (c === "'") { this.pos = i + 1; return out }
      out += c
    }
    return this.fail('unterminated string')
  }

  double (): string {
    let out = ''
    for (let i = this.pos + 1; i < this.text.length; i++) {
      const c = this.text[i]
      if (c === '\\') { const e = this.text[++i]; out += DOUBLE_ESCAPES[e] ?? e; continue }
      if (c === '#' && this.text[i + 1] === '{') { this.pos = i; this.fail('string interpolation is Ruby code') }
      if (c === '"') { this.pos = i + 1; return out }
      out += c
    }
    return this.fail('unterminated string')
  }

  array (): RubyValue[] {
    this.pos++
    const out: RubyValue[] = []
    for (;;) {
      this.skip()
      if (this.text[this.pos] === ']') { this.pos++; return out }
      out.push(this.value())
      this.skip()
      if (this.text[this.pos] === ',') this.pos++
      else if (this.text[this.pos] !== ']') this.fail('expected , or ]')
    }
  }

  hash (): Record<string, RubyValue> {
    this.pos++
    const out: Record<string, RubyValue> = {}
    for (;;) {
      this.skip()
      if (this.text[this.pos] === '}') { this.pos++; return out }
      out[this.key()] = this.value()
      this.skip()
      if (this.text[this.pos] === ',') this.pos++
      else if (this.text[this.pos] !== '}') this.fail('expected , or }')
    }
  }

  /** `'k' =>`, `"k" =>`, `:k =>`, `k:` or `'k':`. */
  key (): string {
    const bare = /^([A-Za-z_]\w*):(?!:)/.exec(this.rest())
    if (bare !== null) { this.pos += bare[0].length; return bare[1] }
    const k = this.value()
    if (typeof k !== 'string' && typeof k !== 'number') this.fail('a hash key must be a string, symbol or number')
    this.skip()
    if (this.rest().startsWith('=>')) this.pos += 2
    else if (this.text[this.pos] === ':') this.pos++
    else this.fail('expected =>')
    return String(k)
  }
}

/** The literal starting at `start` (leading spaces allowed) and where it ends. */
export function readRubyLiteral (text: string, start: number): Parsed {
  const r = new Reader(text, start)
  const value = r.value()
  return { value, end: r.pos }
}
