/** One imapflow connection per session (imapflow does not reconnect). */
import { ImapFlow, type ImapFlowOptions } from 'imapflow'
import type { ImapSettings } from '../../mailboxes/types.ts'
import { ProviderAuthError, type AccessTokens } from '../types.ts'
import { withAccessToken } from '../access-token.ts'

export function imapOptions (s: ImapSettings): ImapFlowOptions {
  const tls = s.tls ?? 'implicit'
  const timeout = (s.connectTimeoutSeconds ?? 30) * 1000
  const auth = s.auth?.accessToken !== undefined
    ? { user: s.user, accessToken: s.auth.accessToken }
    : { user: s.user, pass: s.password ?? '' }
  return {
    host: s.host,
    port: s.port ?? (tls === 'implicit' ? 993 : 143),
    secure: tls === 'implicit',
    doSTARTTLS: tls === 'starttls' ? true : (tls === 'none' ? false : undefined),
    auth,
    tls: { rejectUnauthorized: s.rejectUnauthorized ?? true, ...(s.ca !== undefined ? { ca: s.ca } : {}) },
    logger: false,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: Math.max(timeout * 4, 60_000),
    // a poller runs short sessions: no IDLE between commands
    disableAutoIdle: true,
    // no ENABLE CONDSTORE (nor UTF8=ACCEPT, IMAP4rev2: folder names still
    // travel in modified UTF-7): with it, Dovecot answers each STORE, even
    // .SILENT, with a FETCH per message, and the poller marks every message it
    // takes: an answer per message, read and parsed for nothing
    disableAutoEnable: true
  }
}

const TIMEOUT_CODES = new Set(['CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT', 'ETIMEOUT'])

export async function connectImap (s: ImapSettings): Promise<ImapFlow> {
  const options = imapOptions(s)
  const client = new ImapFlow(options)
  // after connect, errors surface on the next command; this keeps a dropped
  // socket from becoming an unhandled 'error' event
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (err) {
    const e = err as { authenticationFailed?: boolean, responseText?: string, code?: string, message: string }
    if (e.authenticationFailed === true) {
      throw new ProviderAuthError(`IMAP login failed for ${s.user}: ${e.responseText ?? e.message}`)
    }
    const where = `${s.host}:${options.port ?? ''}`
    // imapflow's own wording ("Failed to receive greeting …") does not say it was a timeout
    if (TIMEOUT_CODES.has(e.code ?? '')) throw new Error(`IMAP connection to ${where} timed out after ${s.connectTimeoutSeconds ?? 30} s: ${e.message}`)
    throw new Error(`IMAP connection to ${where} failed: ${e.message}`)
  }
  return client
}

/**
 * Logs in with the mailbox's password, or, for a connected mailbox
 * (imap.auth.oauthApp), with its account's access token over XOAUTH2.
 */
export async function loginImap (s: ImapSettings, tokens?: AccessTokens): Promise<ImapFlow> {
  if (s.auth?.oauthApp === undefined) return await connectImap(s)
  if (tokens === undefined) throw new Error('a connected IMAP mailbox needs its access tokens')
  return await withAccessToken(tokens, async accessToken => await connectImap({ ...s, auth: { accessToken } }),
    err => err instanceof ProviderAuthError)
}
