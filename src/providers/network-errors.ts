/**
 * Network and TLS failures in plain words, from the error codes Node, undici
 * and imapflow set (on the error or its cause): what happened on the way to
 * a server and what to change. Used by the mailbox probes.
 */
import { errorCode } from '../shared/errors.ts'

const SELF_SIGNED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN'])
const UNKNOWN_ISSUER = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT'])
const TIMEOUTS = new Set(['CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT', 'ETIMEOUT', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'TimeoutError', 'ABORT_ERR'])

/** The code of the error or, failing that, of its cause (fetch wraps the socket's error). */
export function networkCode (err: unknown): string | undefined {
  const cause = (err as { cause?: unknown } | null)?.cause
  const name = (err as { name?: string } | null)?.name
  return errorCode(err) ?? errorCode(cause) ?? (name === 'TimeoutError' ? name : undefined)
}

/**
 * What a failure to reach `where` (host:port or URL) means; undefined when it
 * is no network or TLS failure. `trust` says how this connection trusts a
 * private CA (e.g. "imap.ca").
 */
export function explainNetwork (err: unknown, where: string, trust: string): string | undefined {
  const code = networkCode(err) ?? ''
  const text = `${(err as Error | null)?.message ?? ''} ${(err as { cause?: Error } | null)?.cause?.message ?? ''}`
  if (code === 'ENOTFOUND') return `the host name of ${where} does not resolve (DNS has no such name): check the spelling`
  if (code === 'EAI_AGAIN') return `DNS gave no answer for ${where} (no resolver reachable, or a temporary DNS failure): try again, or check this machine's DNS`
  if (code === 'ECONNREFUSED') {
    return `nothing accepts connections at ${where}: a wrong port, a server that is down, or a firewall that rejects; IMAP over TLS is usually port 993, IMAP with STARTTLS 143`
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `no network route to ${where} from this machine (routing, VPN or firewall)`
  if (code === 'ECONNRESET' || code === 'EPIPE') return `${where} cut the connection: a TLS setting that does not match the port, or a firewall or proxy in between`
  if (TIMEOUTS.has(code)) {
    return `no answer from ${where} in time: a firewall that drops the packets, a server that is overloaded, or a port that expects TLS from the first byte while plain IMAP was spoken (or the reverse)`
  }
  if (SELF_SIGNED.has(code)) return `the TLS certificate of ${where} is self-signed, so it cannot be trusted as it is: give its certificate or CA in ${trust} (verification stays on)`
  if (UNKNOWN_ISSUER.has(code)) {
    return `the TLS certificate of ${where} comes from a CA this machine does not trust: a private CA (give it in ${trust}), or a server that does not send its intermediate certificates`
  }
  if (code === 'CERT_HAS_EXPIRED') return `the TLS certificate of ${where} has expired: the server's administrator must renew it`
  if (code === 'CERT_NOT_YET_VALID') return `the TLS certificate of ${where} is not valid yet: check this machine's clock, or the certificate's dates`
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the TLS certificate of ${where} is made out to other names (listed above): connect with a host name it lists`
  if (code === 'EPROTO' || code.startsWith('ERR_SSL_') || /wrong version number|packet length too long|unknown protocol/i.test(text)) {
    return `the TLS handshake with ${where} failed: the port probably speaks plain IMAP (use tls: starttls, usually on port 143), or the server only offers an outdated TLS version`
  }
  return undefined
}
