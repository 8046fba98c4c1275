// The text a handler stores: a reply note without the quoted original and
// the signature (GitLab's ReplyParser), or a new issue's description, which
// keeps quotes (a forwarded mail is often nothing but quotes).
//
// Two libraries share the stripping, each doing what it does well:
// - planer (a port of Mailgun's talon) cuts the quoted original at its
//   header, including Outlook's "From: … / Sent: …" block with no address
// - email-reply-parser cuts signatures ("-- ", "Sent from my iPhone", …) and
//   the localised "On … wrote:" lines (Dutch "Op … schreef …", …).
import EmailReplyParser from 'email-reply-parser'
import planer from 'planer'
import { htmlToMarkdownText } from './html-text.ts'
import type { ParsedEmail } from './types.ts'

// The libraries only ever see the start of a body: at most 1000 lines
// (planer reads no more) and 16 KB (some of their patterns are quadratic: an
// adversarial long line would take minutes). The sender's own text comes first,
// so a quotation or signature is found there or, in practice, not at all.
const WINDOW_LINES = 1000
const WINDOW_CHARS = 16 * 1024

/** HTML converted once per parsed email: a delivery may ask for both the whole text and the reply. */
const converted = new WeakMap<object, string>()

/** The body as text: the text part, else the HTML part as Markdown-ish text. */
export function bodyText (parsed: Pick<ParsedEmail, 'text' | 'html'>): string {
  if (parsed.text && parsed.text.trim() !== '') return parsed.text
  if (parsed.html) {
    let text = converted.get(parsed)
    if (text === undefined) converted.set(parsed, text = htmlToMarkdownText(parsed.html))
    return text
  }
  return parsed.text ?? ''
}

/**
 * A reply without quoted text and signature; '' when nothing of the sender's
 * own remains (GitLab then rejects the mail as empty).
 */
export function replyBody (parsed: Pick<ParsedEmail, 'text' | 'html'>): string {
  const body = tidy(strip(normalise(bodyText(parsed))))
  // A reply that is only quotes says nothing new (GitLab's ReplyParser rule).
  return body.split('\n').every((l) => l.trim() === '' || l.startsWith('>')) ? '' : body
}

/** The whole body for a new issue or merge request, quotes kept. */
export function issueDescription (parsed: Pick<ParsedEmail, 'text' | 'html'>): string {
  return tidy(normalise(bodyText(parsed)))
}

function normalise (text: string): string {
  return text.replace(/\r\n?/g, '\n')
}

// Trailing blanks on a line carry nothing in Markdown but "hard break", which
// mail clients add by accident; GitLab removes them too. (A loop, not
// /[ \t]+$/gm: that pattern is quadratic on a long run of blanks.)
function tidy (text: string): string {
  return text
    .split('\n')
    .map((line) => {
      let end = line.length
      while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--
      return line.slice(0, end)
    })
    .join('\n')
    .trim()
}

function strip (text: string): string {
  const head = window(text)
  const stripped = stripSignature(planer.extractFromPlain(head))
  if (head.length === text.length) return stripped
  // Shorter means a quotation or signature was cut inside the window, and
  // what follows it belongs to it; otherwise the rest must not be lost.
  return tidy(stripped).length < tidy(head).length ? stripped : text
}

function window (text: string): string {
  const head = text.split('\n', WINDOW_LINES).join('\n')
  if (head.length <= WINDOW_CHARS) return head
  // Never hand over half a line: its start could look like a quote header.
  return head.slice(0, head.lastIndexOf('\n', WINDOW_CHARS) + 1)
}

function stripSignature (text: string): string {
  // email-reply-parser recognises a delimiter line by the line above it, so a
  // body that starts with "--" needs a line above to be seen as a signature.
  return new EmailReplyParser().read(`\n${text}`).getVisibleText()
}
