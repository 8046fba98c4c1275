// mailparser's simpleParser, with two changes for big mail: the input is fed
// in 64 KB chunks (the whole buffer at once made mailparser hold far more
// than the message), and attachment content past `maxAttachmentBytes` is
// counted but not kept (a 25 MB attachment nobody may store need not be
// held). Output is simpleParser's with keepCidLinks.
import { MailParser } from 'mailparser'
import type { Attachment, ParsedMail } from 'mailparser'

const CHUNK = 64 * 1024

export interface MimeOptions {
  maxHtmlLengthToParse?: number
  /** Attachment bytes kept per attachment; beyond, content is empty and `contentOmitted` set. Default: all. */
  maxAttachmentBytes?: number
}

export type StreamedAttachment = Attachment & { contentOmitted: boolean }

export async function parseMime (source: Buffer, opts: MimeOptions = {}): Promise<ParsedMail> {
  const cap = opts.maxAttachmentBytes ?? Infinity
  const parser = new MailParser({
    skipTextToHtml: true, // nobody here needs text rendered as HTML
    skipHtmlToText: true, // body.ts turns HTML into text its own way
    skipImageLinks: true,
    keepCidLinks: true, // data: URLs would copy every inline image into `html`
    maxHtmlLengthToParse: opts.maxHtmlLengthToParse
  } as ConstructorParameters<typeof MailParser>[0])
  const mail = { attachments: [] as StreamedAttachment[] } as unknown as ParsedMail & { attachments: StreamedAttachment[] }
  return await new Promise<ParsedMail>((resolve, reject) => {
    let settled = false
    const settle = (err: Error | null): void => {
      if (settled) return
      settled = true
      if (err !== null) reject(err)
      else resolve(mail)
    }
    parser.on('error', settle)
    parser.on('headers', (headers) => {
      mail.headers = headers
      mail.headerLines = (parser as unknown as { headerLines: ParsedMail['headerLines'] }).headerLines
    })
    parser.on('data', (data: { type: string } & Record<string, unknown>) => {
      if (data.type === 'text') {
        for (const key of ['text', 'html', 'textAsHtml'] as const) if (key in data) (mail as unknown as Record<string, unknown>)[key] = data[key]
        return
      }
      // while streaming, content is a readable stream; it becomes a Buffer at its end
      const streaming = data as unknown as { content: NodeJS.ReadableStream, release: () => void }
      const attachment = data as unknown as StreamedAttachment
      mail.attachments.push(attachment)
      const chunks: Buffer[] = []
      let size = 0
      streaming.content.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size <= cap) chunks.push(chunk)
      })
      streaming.content.on('end', () => {
        attachment.contentOmitted = size > cap
        attachment.content = attachment.contentOmitted ? Buffer.alloc(0) : Buffer.concat(chunks, size)
        attachment.size = size
        streaming.release()
      })
    })
    parser.on('end', () => {
      for (const key of ['subject', 'references', 'date', 'to', 'from', 'cc', 'bcc', 'message-id', 'in-reply-to', 'reply-to']) {
        if (mail.headers?.has(key) === true) (mail as unknown as Record<string, unknown>)[key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())] = mail.headers.get(key)
      }
      settle(null)
    })
    let offset = 0
    const feed = (): void => {
      while (offset < source.length) {
        const more = parser.write(source.subarray(offset, offset + CHUNK))
        offset += CHUNK
        if (!more) { parser.once('drain', feed); return }
      }
      parser.end()
    }
    feed()
  })
}
