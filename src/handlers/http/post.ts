/**
 * One POST to a delivery endpoint, and what its answer means for the email:
 * - 2xx: delivered;
 * - 408, 429, 5xx, no answer in time, a network error: RetryableError (a
 *   Retry-After on the answer is kept as the least wait before the next try);
 * - any other status (3xx included: redirects are not followed, as mail_room
 *   did not follow them): a permanent Error naming the status and the start
 *   of the answer;
 * - an address the outbound policy refuses (address-policy.ts): a permanent
 *   Error naming the address, nothing sent.
 * Connections are kept alive (transport.ts), so a busy endpoint is not
 * reconnected for every email.
 */
import { sendPost, type RawAnswer } from './transport.ts'
import { RefusedAddressError, type Reach } from '../../shared/address-policy.ts'
import { RetryableError } from '../../inbound/lifecycle.ts'
import { asError, errorCode } from '../../shared/errors.ts'

/** How long one delivery may take, answer body included. */
export const DELIVERY_TIMEOUT_MS = 30_000
/** Retry-After values beyond this are clipped: one email never waits longer on a single answer. */
const RETRY_AFTER_MAX_SECONDS = 3600
/** How much of an answer body is read and quoted in an error. */
const EXCERPT_BYTES = 300

export interface DeliveryPost {
  /** Who answers, for messages: `GitLab`, `the webhook endpoint`. */
  what: string
  url: string
  headers: Record<string, string>
  body: Uint8Array | string
  /** The addresses it may reach (deliveryReach). */
  reach: Reach
  /** Default DELIVERY_TIMEOUT_MS. */
  timeoutMs?: number
}

export interface DeliveryAnswer { status: number, excerpt: string }

export async function postDelivery (post: DeliveryPost): Promise<DeliveryAnswer> {
  if (!/^https?:$/.test(URL.parse(post.url)?.protocol ?? '')) throw new Error(`${post.what}: the delivery URL is not a valid http(s) URL`)
  const where = `${post.what} at ${safeUrl(post.url)}`
  const { url, authorization } = splitCredentials(post.url)
  const timeoutMs = post.timeoutMs ?? DELIVERY_TIMEOUT_MS
  let answer: RawAnswer
  try {
    const headers = { 'user-agent': 'mailslot', ...authorization, ...post.headers }
    const signal = AbortSignal.timeout(timeoutMs)
    answer = await sendPost(url, { headers, body: post.body, signal, excerptBytes: EXCERPT_BYTES, reach: post.reach })
  } catch (err) {
    if (err instanceof RefusedAddressError) throw new Error(`${where}: not connected, ${err.message}`)
    throw new RetryableError(`${where}: ${describeError(err, timeoutMs)}`)
  }
  const { status } = answer
  const excerpt = oneLine(answer.head) + (answer.cut ? '…' : '')
  if (status >= 200 && status < 300) return { status, excerpt }
  const message = `${where} answered ${status}${excerpt === '' ? '' : `: ${excerpt}`}`
  if (status === 408 || status === 429 || status >= 500) throw new RetryableError(message, retryAfterSeconds(answer.retryAfter))
  throw new Error(message)
}

function oneLine (bytes: Buffer): string {
  return bytes.toString('utf8').replace(/\s+/g, ' ').trim()
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterSeconds (value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined
  const seconds = /^\d+$/.test(value.trim()) ? Number(value.trim()) : (Date.parse(value) - now) / 1000
  if (!Number.isFinite(seconds)) return undefined
  return Math.min(Math.max(seconds, 0), RETRY_AFTER_MAX_SECONDS)
}

/** `https://user:pass@host/…` → basic auth, as mail_room's postback offered; the URL sent carries no credentials. */
function splitCredentials (raw: string): { url: URL, authorization: Record<string, string> } {
  const url = new URL(raw)
  if (url.username === '' && url.password === '') return { url, authorization: {} }
  const basic = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')
  url.username = ''
  url.password = ''
  return { url, authorization: { authorization: `Basic ${basic}` } }
}

// node's messages name no URL; the code says what went wrong
function describeError (err: unknown, timeoutMs: number): string {
  const e = asError(err)
  const code = errorCode(err)
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`
  return code === undefined || e.message.includes(code) ? e.message : `${e.message} (${code})`
}

/** The URL without credentials or query, which may carry tokens: fit for errors and logs. */
export function safeUrl (url: string): string {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return '(invalid URL)'
  }
}
