/** One imapflow connection per session (imapflow does not reconnect). */
import { ImapFlow, type ImapFlowOptions } from 'imapflow'
import type { ImapSettings } from '../../mailboxes/types.ts'
import { ProviderAuthError } from '../types.ts'

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
    tls: { rejectUnauthorized: s.rejectUnauthorized ?? true },
    logger: false,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: Math.max(timeout * 4, 60_000),
    // a poller runs short sessions: no IDLE between commands
    disableAutoIdle: true
  }
}

export async function connectImap (s: ImapSettings): Promise<ImapFlow> {
  const client = new ImapFlow(imapOptions(s))
  // after connect, errors surface on the next command; this keeps a dropped
  // socket from becoming an unhandled 'error' event
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (err) {
    const e = err as { authenticationFailed?: boolean, responseText?: string, message: string }
    if (e.authenticationFailed === true) {
      throw new ProviderAuthError(`IMAP login failed for ${s.user}: ${e.responseText ?? e.message}`)
    }
    throw new Error(`IMAP connection to ${s.host}:${s.port ?? ''} failed: ${e.message}`)
  }
  return client
}
