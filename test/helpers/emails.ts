/** Test emails: realistic headers, a body padded to a target size. */
import { randomBytes } from 'node:crypto'

export interface EmailOptions {
  to?: string
  from?: string
  subject?: string
  messageId?: string
  /** Approximate total size in bytes. Default 7 KB. */
  size?: number
  headers?: Record<string, string>
  body?: string
}

export function makeEmail (i: number, o: EmailOptions = {}): Buffer {
  const id = o.messageId ?? `<test-${i}-${randomBytes(6).toString('hex')}@example.com>`
  const head = [
    `From: ${o.from ?? `Sender ${i} <sender${i}@example.org>`}`,
    `To: ${o.to ?? 'incoming+test-key@example.com'}`,
    `Subject: ${o.subject ?? `Test message ${i}`}`,
    `Date: ${new Date(Date.UTC(2026, 10, 1, 12, 0, i % 60)).toUTCString()}`,
    `Message-ID: ${id}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`)
  ].join('\r\n')
  let body = o.body ?? `Hello, this is message ${i}. Grüße, ✉️\r\n\r\n`
  const target = o.size ?? 7 * 1024
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again.\r\n'
  while (head.length + body.length + 4 < target) body += line
  return Buffer.from(`${head}\r\n\r\n${body}`)
}
