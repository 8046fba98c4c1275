/**
 * The one list of which mailbox settings are secret. Secrets are split off
 * before storage (encrypted) and before anything is shown (API, CLI, logs).
 */
import { decryptJson, encryptJson, reseal, type Keyring } from '../shared/crypto.ts'
import type { MailboxSpec } from './types.ts'

/** Dotted paths of secret settings. */
export const SECRET_PATHS = ['imap.password', 'imap.auth.accessToken', 'graph.clientSecret', 'delivery.secret'] as const
const PURPOSE = 'mailbox-secrets'

type Obj = Record<string, unknown>

export function get (obj: Obj, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Obj)[k] : undefined), obj)
}

export function set (obj: Obj, path: string, value: unknown): void {
  const keys = path.split('.')
  let o = obj
  for (const k of keys.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = {}
    o = o[k] as Obj
  }
  o[keys[keys.length - 1]] = value
}

function remove (obj: Obj, path: string): void {
  const keys = path.split('.')
  const parent = get(obj, keys.slice(0, -1).join('.'))
  if (parent !== null && typeof parent === 'object') delete (parent as Obj)[keys[keys.length - 1]]
}

export interface SplitMailbox { config: MailboxSpec, secrets: Record<string, string> }

/** The spec without its secrets, and the secrets by path. Does not change `spec`. */
export function splitSecrets (spec: MailboxSpec): SplitMailbox {
  const config = structuredClone(spec) as unknown as Obj
  const secrets: Record<string, string> = {}
  for (const path of SECRET_PATHS) {
    const value = get(config, path)
    if (typeof value === 'string') {
      secrets[path] = value
      remove(config, path)
    }
  }
  // an auth object emptied of its token says which kind of auth is set up
  return { config: config as unknown as MailboxSpec, secrets }
}

export function joinSecrets (config: MailboxSpec, secrets: Record<string, string>): MailboxSpec {
  const spec = structuredClone(config) as unknown as Obj
  for (const [path, value] of Object.entries(secrets)) set(spec, path, value)
  return spec as unknown as MailboxSpec
}

export function sealSecrets (keyring: Keyring, secrets: Record<string, string>): Buffer | null {
  return Object.keys(secrets).length === 0 ? null : encryptJson(keyring, secrets, PURPOSE)
}

export function openSecrets (keyring: Keyring, sealed: Buffer | null): Record<string, string> {
  return sealed === null ? {} : decryptJson<Record<string, string>>(keyring, sealed, PURPOSE)
}

/** Sealed secrets under the first key; null when they already are. */
export function resealSecrets (keyring: Keyring, sealed: Buffer): Buffer | null {
  return reseal(keyring, sealed, PURPOSE)
}

/** Every secret value of a spec, for redaction in logs. */
export function secretValues (spec: MailboxSpec): string[] {
  return Object.values(splitSecrets(spec).secrets)
}
