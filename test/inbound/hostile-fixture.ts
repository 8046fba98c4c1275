/**
 * Hostile emails, generated (nothing big is committed), each with the end
 * state it must reach through the real store and email-handle path with the
 * built-in delivery; and a runtime whose /healthz is watched meanwhile.
 */
import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { storeFetched } from '../../src/inbound/store.ts'
import { handleEmails } from '../../src/inbound/handle.ts'
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { quietMailbox } from '../handlers/builtin/fixture.ts'

export interface Addresses {
  /** New-issue address of project A. */
  issue: string
  /** New-issue address of project B. */
  other: string
}

export interface HostileCase {
  name: string
  raw: (a: Addresses) => Buffer
  status: 'delivered' | 'rejected'
  reason?: string
}

type Written = Omit<HostileCase, 'raw'> & { raw: (a: Addresses) => Buffer | string }

const WILDCARD = 'incoming+%{key}@example.com'
const head = (to: string, extra: string[] = [], id = `<h-${randomBytes(6).toString('hex')}@example.org>`): string =>
  [`From: Alice <alice@example.org>`, `To: ${to}`, 'Subject: hostile', `Message-ID: ${id}`, 'MIME-Version: 1.0', ...extra].join('\r\n')
const mail = (to: string, extra: string[], body: string | Buffer): Buffer =>
  Buffer.concat([Buffer.from(`${head(to, extra)}\r\n\r\n`), Buffer.isBuffer(body) ? body : Buffer.from(body)])
const text = (to: string, body: string, extra: string[] = []): Buffer => mail(to, ['Content-Type: text/plain; charset=utf-8', ...extra], body)

/** base64 of `bytes`, in 76-character lines. */
function base64Lines (bytes: Buffer): string {
  return (bytes.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
}

function withAttachment (to: string, bytes: Buffer): Buffer {
  return mail(to, ['Content-Type: multipart/mixed; boundary=B'], [
    '--B', 'Content-Type: text/plain', '', 'See attached.', '',
    '--B', 'Content-Type: application/octet-stream; name=big.bin', 'Content-Disposition: attachment; filename=big.bin',
    'Content-Transfer-Encoding: base64', '', base64Lines(bytes), '--B--', ''
  ].join('\r\n'))
}

export function htmlTable (to: string, bytes: number): Buffer {
  const row = '<tr><td>cell one</td><td>cell two</td><td>cell three</td></tr>\n'
  return mail(to, ['Content-Type: text/html; charset=utf-8'], `<html><body><table>${row.repeat(Math.ceil(bytes / row.length))}</table></body></html>\r\n`)
}

function nested (to: string, depth: number): Buffer {
  let body = 'the innermost text\r\n'
  for (let i = depth; i > 0; i--) body = `--n${i}\r\nContent-Type: multipart/mixed; boundary=n${i + 1}\r\n\r\n${body}\r\n--n${i}--\r\n`
  return mail(to, ['Content-Type: multipart/mixed; boundary=n1'], `--n1\r\nContent-Type: text/plain\r\n\r\ntop\r\n${body}--n1--\r\n`)
}

function manyParts (to: string, n: number): Buffer {
  const parts = Array.from({ length: n }, (_, i) => `--B\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`)
  return mail(to, ['Content-Type: multipart/mixed; boundary=B'], `${parts.join('')}--B--\r\n`)
}

const DSN = [
  '--R', 'Content-Type: text/plain', '', 'Delivery to the following recipient failed permanently.', '',
  '--R', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.example.org', '',
  'Final-Recipient: rfc822; nobody@example.net', 'Action: failed', 'Status: 5.1.1', '', '--R--', ''
].join('\r\n')

/** The cases that run in seconds. */
const small: Written[] = [
  { name: 'empty', raw: () => Buffer.alloc(0), status: 'rejected', reason: 'empty' },
  { name: 'binary with NULs, no headers', raw: () => Buffer.concat([Buffer.alloc(64), randomBytes(8192)]), status: 'rejected', reason: 'unparsable' },
  {
    name: 'NULs in the subject and the body',
    raw: (a) => text(a.issue, `before\0after\0${'\0'.repeat(100)}\r\n`).toString().replace('Subject: hostile', 'Subject: nul\0here'),
    status: 'delivered'
  },
  { name: 'no header/body separator', raw: (a) => Buffer.from(head(a.issue)), status: 'delivered' },
  { name: 'headers only', raw: (a) => Buffer.from(`${head(a.issue)}\r\n\r\n`), status: 'delivered' },
  { name: 'a 1 MB header line', raw: (a) => text(a.issue, 'hi\r\n', [`X-Long: ${'a'.repeat(1024 * 1024)}`]), status: 'rejected', reason: 'too_complex' },
  { name: '5,000 headers', raw: (a) => text(a.issue, 'hi\r\n', Array.from({ length: 5000 }, (_, i) => `X-H${i}: value ${i}`)), status: 'delivered' },
  {
    name: 'raw 8-bit headers',
    raw: (a) => Buffer.concat([
      Buffer.from(`From: J\xf6rg <j@example.org>\r\nTo: ${a.issue}\r\nSubject: `, 'latin1'), Buffer.from('Grüße ✉️ '), Buffer.from([0xff, 0xfe]), Buffer.from('\r\n\r\nbody\r\n')
    ]),
    status: 'delivered'
  },
  { name: 'an unknown charset', raw: (a) => mail(a.issue, ['Content-Type: text/plain; charset=x-no-such-charset'], 'caf\xe9\r\n'), status: 'delivered' },
  { name: 'invalid UTF-8', raw: (a) => mail(a.issue, ['Content-Type: text/plain; charset=utf-8'], Buffer.from([0x68, 0xc3, 0x28, 0xff, 0xfe, 0x0d, 0x0a])), status: 'delivered' },
  { name: 'broken base64', raw: (a) => mail(a.issue, ['Content-Type: text/plain', 'Content-Transfer-Encoding: base64'], 'SGVsbG8@@@!!!*** not base64 ===QQ\r\n'), status: 'delivered' },
  { name: 'broken quoted-printable', raw: (a) => mail(a.issue, ['Content-Type: text/plain', 'Content-Transfer-Encoding: quoted-printable'], 'soft=\r\nbad =ZZ =4 =\r\n=C3=\r\n'), status: 'delivered' },
  {
    name: 'unterminated multipart',
    raw: (a) => mail(a.issue, ['Content-Type: multipart/mixed; boundary=U'], '--U\r\nContent-Type: text/plain\r\n\r\nno end boundary\r\n'),
    status: 'delivered'
  },
  { name: '10,000 parts', raw: (a) => manyParts(a.issue, 10_000), status: 'rejected', reason: 'too_complex' },
  { name: '100-deep nesting', raw: (a) => nested(a.issue, 100), status: 'delivered' },
  { name: 'no Message-ID', raw: (a) => Buffer.from(`From: a@example.org\r\nTo: ${a.issue}\r\nSubject: no id\r\n\r\nbody\r\n`), status: 'delivered' },
  { name: 'a 100 KB subject', raw: (a) => text(a.issue, 'hi\r\n').toString().replace('Subject: hostile', `Subject: ${'s'.repeat(100 * 1024)}`), status: 'delivered' },
  { name: 'a 10 KB from address', raw: (a) => text(a.issue, 'hi\r\n').toString().replace('alice@example.org', `${'a'.repeat(10 * 1024)}@example.org`), status: 'delivered' },
  { name: '2,000 levels of > quoting', raw: (a) => text(a.issue, `My answer.\r\n${Array.from({ length: 2000 }, (_, i) => `${'>'.repeat(i + 1)} level ${i}`).join('\r\n')}\r\n`), status: 'delivered' },
  { name: 'mixed CRLF and LF', raw: (a) => Buffer.from(`From: a@example.org\nTo: ${a.issue}\r\nSubject: mixed\n\r\nline one\r\nline two\nline three\r\n`), status: 'delivered' },
  { name: 'a DSN bounce', raw: (a) => mail(a.issue, ['Content-Type: multipart/report; report-type=delivery-status; boundary=R'], DSN).toString().replace('alice@example.org', 'postmaster@mx.example.org'), status: 'rejected', reason: 'bounce' },
  { name: 'a loop (X-Loop naming the mailbox)', raw: (a) => text(a.issue, 'hi\r\n', ['X-Loop: incoming@example.com']), status: 'rejected', reason: 'loop' }
]
export const SMALL: HostileCase[] = small.map(c => ({ ...c, raw: (a: Addresses) => Buffer.from(c.raw(a)) }))

/** The big ones: each costs seconds. */
export const BIG: HostileCase[] = [
  { name: 'a 30 MB attachment', raw: (a) => withAttachment(a.issue, randomBytes(30 * 1024 * 1024)), status: 'delivered' },
  { name: '20 MB of zeros, base64', raw: (a) => withAttachment(a.issue, Buffer.alloc(20 * 1024 * 1024)), status: 'delivered' },
  { name: 'a 5 MB HTML table', raw: (a) => htmlTable(a.issue, 5 * 1024 * 1024), status: 'delivered' }
]

export interface HostileRuntime {
  rt: TestRuntime
  mailbox: { id: number, name: string }
  addresses: Addresses
  projects: { a: number, b: number }
}

/** A web runtime (HTTP up, no pollers) with one builtin mailbox and two projects. */
export async function hostileRuntime (t: Test): Promise<HostileRuntime> {
  const rt = await startTestRuntime(t, { role: 'web' })
  const mailbox = await quietMailbox(rt, 'hostile', WILDCARD)
  const a = await rt.api('POST', '/api/v1/projects', { path: 'acme/widgets' })
  const b = await rt.api('POST', '/api/v1/projects', { path: 'evil/other' })
  if (a.status !== 201 || b.status !== 201) throw new Error(a.text + b.text)
  const addresses = { issue: a.body.addresses.issue, other: b.body.addresses.issue }
  return { rt, mailbox, addresses, projects: { a: a.body.id, b: b.body.id } }
}

let seq = 0

export interface Handled { id: number, status: string, reason: string | null, rawBytes: number | null, ms: number }

/** Stores raw as if fetched and handles it now; its row, and how long that took. */
export async function ingestTimed (h: HostileRuntime, raw: Buffer): Promise<Handled> {
  const started = performance.now()
  const { stored } = await storeFetched(h.rt.ctx, h.mailbox, [{ ref: { key: `hostile-${++seq}`, size: raw.length }, raw, complete: true }])
  if (stored.length !== 1) throw new Error('not stored')
  await handleEmails(h.rt.ctx, stored)
  const ms = performance.now() - started
  const { rows } = await h.rt.ctx.pool.query<Omit<Handled, 'ms'>>(
    'SELECT id, status, reason, octet_length(raw)::int AS "rawBytes" FROM inbound_emails WHERE id = $1', [stored[0]])
  return { ...rows[0], ms }
}

/** Polls /healthz every 100 ms until stopped; the slowest answer, in ms (a failed one counts as Infinity). */
export function watchHealth (rt: TestRuntime): { stop: () => Promise<{ slowestMs: number, answers: number }> } {
  let slowestMs = 0
  let answers = 0
  const state = { running: true }
  const loop = (async () => {
    while (state.running) {
      const started = performance.now()
      const ok = await fetch(`${rt.address}/healthz`).then(r => r.status === 200, () => false)
      slowestMs = Math.max(slowestMs, ok ? performance.now() - started : Infinity)
      answers++
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  })()
  return { stop: async () => { state.running = false; await loop; return { slowestMs, answers } } }
}
