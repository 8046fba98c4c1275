/**
 * Which addresses a delivery may connect to (CONTRACT "Outbound URLs"), so
 * mailslot cannot be turned against its own network:
 * - `public` (webhook deliveries): public unicast addresses only;
 * - `private` (gitlab deliveries, or webhook with
 *   MAILSLOT_WEBHOOK_ALLOW_PRIVATE=true): loopback, private and CGNAT too;
 * - never: link-local (cloud metadata among them), unspecified, broadcast,
 *   multicast and the other metadata addresses.
 * IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4, compatible)
 * are judged by that address. Checked on URLs at creation and on
 * every resolved address before connecting (transport.ts).
 */
import dns from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'

export type Reach = 'public' | 'private'

/** The policy of a delivery kind. */
export function deliveryReach (kind: 'gitlab' | 'webhook', allowPrivateWebhooks: boolean): Reach {
  return kind === 'gitlab' || allowPrivateWebhooks ? 'private' : 'public'
}

/** A connection the policy refuses: permanent, the email ends `failed`. */
export class RefusedAddressError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'RefusedAddressError'
  }
}

const NEVER = new Set(['unspecified', 'broadcast', 'multicast', 'linkLocal'])
/** Cloud metadata services outside link-local: AWS over IPv6, Alibaba Cloud. */
const METADATA = new Set(['fd00:ec2:0:0:0:0:0:254', '100.100.100.200'])

const WORDS: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  private: 'a private address',
  uniqueLocal: 'a private address',
  carrierGradeNat: 'a shared (CGNAT) address'
}

const PUBLIC_ONLY = 'webhook targets must be public unless MAILSLOT_WEBHOOK_ALLOW_PRIVATE=true'

type Address = ipaddr.IPv4 | ipaddr.IPv6

/** The IPv4 address an IPv6 one carries, if any. */
function embeddedIpv4 (ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = ip.parts
  const v4 = (hi: number, lo: number): ipaddr.IPv4 => new ipaddr.IPv4([hi >> 8, hi & 255, lo >> 8, lo & 255])
  const range = ip.range()
  if (range === '6to4') return v4(p[1], p[2])
  const compatible = range === 'unicast' && p.slice(0, 6).every(x => x === 0)
  if (compatible || range === 'ipv4Mapped' || range === 'rfc6145' || range === 'rfc6052') return v4(p[6], p[7])
  return undefined
}

/** Why `ip` itself is refused, or undefined. */
function judge (ip: Address, reach: Reach): string | undefined {
  const range = ip.range()
  if (METADATA.has(ip.toNormalizedString())) return 'a cloud metadata address'
  if (NEVER.has(range)) return WORDS[range]
  if (reach === 'public' && range !== 'unicast') return `${WORDS[range] ?? `a non-public address (${range})`}; ${PUBLIC_ONLY}`
  return undefined
}

/** What the IP address `address` is when it may not be connected to (`a loopback address; …`); undefined when it may. */
export function refusedAddress (address: string, reach: Reach): string | undefined {
  let ip: Address
  try {
    ip = ipaddr.parse(address)
  } catch {
    return 'not an IP address'
  }
  const inner = ip.kind() === 'ipv6' ? embeddedIpv4(ip as ipaddr.IPv6) : undefined
  // the wrapper (mapped, NAT64, 6to4) only carries the IPv4 address: that one is judged
  return judge(inner ?? ip, reach)
}

/** The host of a URL without IPv6 brackets. */
export function urlHost (url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1')
}

/**
 * Why a delivery URL is refused before any lookup: an IP address the policy
 * refuses, or a `localhost` name under `public`. Other names are checked
 * when they are resolved, at each connection.
 */
export function refusedUrl (raw: string, reach: Reach): string | undefined {
  const url = URL.parse(raw)
  if (url === null) return undefined
  const host = urlHost(url)
  if (isIP(host) !== 0) {
    const what = refusedAddress(host, reach)
    return what === undefined ? undefined : `${host} is ${what}`
  }
  const name = host.toLowerCase().replace(/\.$/, '')
  if (reach === 'public' && (name === 'localhost' || name.endsWith('.localhost'))) return `${host} is a loopback name; ${PUBLIC_ONLY}`
  return undefined
}

/**
 * A `lookup` for node:net that refuses a name when any address it resolves
 * to is refused: the check is on the addresses actually connected, so a
 * name that changes its answer (DNS rebinding) does not get through.
 */
export function guardedLookup (reach: Reach): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err !== null || addresses.length === 0) { callback(err ?? new Error(`${hostname} has no address`), ''); return }
      for (const { address } of addresses) {
        const what = refusedAddress(address, reach)
        if (what !== undefined) { callback(new RefusedAddressError(`${hostname} resolves to ${address}, ${what}`), ''); return }
      }
      if (options.all === true) (callback as (e: null, a: dns.LookupAddress[]) => void)(null, addresses)
      else callback(null, addresses[0].address, addresses[0].family)
    })
  }
}
