// A project's own Service Desk address (support@customer.com) that forwards
// into mailslot. GitLab checks these on To only: a customer's provider may
// forward without leaving the forwarding target in any header, so To is the
// one place the custom address is sure to be.
import { parseReplyKey } from './matchers.ts'
import type { KeyMatch, ReplyKey } from './matchers.ts'

export interface CustomServiceDeskAddress {
  /** The bare custom address, e.g. support@customer.com. */
  address: string
  /** Whatever the store uses to name the project; routing only passes it on. */
  projectRef: string
}

export type CustomAddressHit =
  | { kind: 'reply', key: string, replyKey: ReplyKey, custom: CustomServiceDeskAddress }
  | { kind: 'verification', custom: CustomServiceDeskAddress }
  | { kind: 'bare', custom: CustomServiceDeskAddress }

export const VERIFICATION_SUBADDRESS = 'verify'

export type CustomAddressLookup = (address: string) => CustomServiceDeskAddress | undefined

export function customAddressLookup (list: CustomServiceDeskAddress[]): CustomAddressLookup {
  const byAddress = new Map(list.map((c) => [c.address.trim().toLowerCase(), c]))
  return (address) => byAddress.get(address.trim().toLowerCase())
}

/**
 * `support+<reply key>@customer.com` (replies to notifications sent from the
 * custom address), `support+verify@customer.com` (the verification mail) and
 * the bare address. A sub-address that is neither a reply key nor `verify`
 * is not ours: it may be the customer's own sub-addressing.
 */
export function matchCustomAddress (address: string, lookup: CustomAddressLookup): CustomAddressHit | null {
  const bare = lookup(address)
  if (bare) return { kind: 'bare', custom: bare }
  const m = /^([^+@]+)\+([^@]+)@(.+)$/.exec(address.trim())
  if (!m) return null
  const custom = lookup(`${m[1]}@${m[3]}`)
  if (!custom) return null
  if (m[2].toLowerCase() === VERIFICATION_SUBADDRESS) return { kind: 'verification', custom }
  const replyKey = parseReplyKey(m[2])
  return replyKey ? { kind: 'reply', key: m[2], replyKey, custom } : null
}

export function customAddressMatch (hit: Exclude<CustomAddressHit, { kind: 'reply' }>): KeyMatch {
  const { address, projectRef } = hit.custom
  return hit.kind === 'verification'
    ? { handler: 'service_desk_verification', customAddress: address, projectRef }
    : { handler: 'service_desk', form: 'custom_address', customAddress: address, projectRef }
}
