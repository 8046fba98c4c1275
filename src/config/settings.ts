/**
 * Settings: one validated, typed object built from the environment (docs/contract.md).
 * A bad value stops start-up with a ConfigError that names the variable.
 */
import path from 'node:path'
import { deliveryReach, refusedUrl } from '../shared/address-policy.ts'
import { WEBHOOK_SECRET_PATTERN } from '../shared/webhook-secret.ts'

export class ConfigError extends Error {
  readonly variable: string
  constructor (variable: string, message: string) {
    super(`${variable}: ${message}`)
    this.name = 'ConfigError'
    this.variable = variable
  }
}

/** MAILSLOT_PG_HOME's default. */
export const DEFAULT_PG_HOME = '/var/lib/mailslot'

export interface Settings {
  /** PostgreSQL to use; undefined = embedded PostgreSQL in `${dataDir}/pg`. */
  databaseUrl?: string
  /** Local state (embedded database, generated secrets). Default `./.mailslot`. */
  dataDir: string
  /** As root, where the embedded PostgreSQL's binaries and cluster go when the `postgres` user cannot reach them. */
  pgHome: string
  /** HTTP listen host. Default `127.0.0.1`. */
  host: string
  /** HTTP listen port. Default `3000`. */
  port: number
  /** Bearer token for /api/v1; undefined = generated into the data dir. */
  adminToken?: string
  /** 32-byte keys for credentials at rest, newest first; undefined = generated into the data dir. */
  encryptionKeys?: Buffer[]
  /** HTTPS base URL Microsoft Graph can reach; undefined = Graph mailboxes are polled. */
  publicUrl?: string
  /** File of declared mailboxes and projects, applied at start. */
  configFile?: string
  /** Default seconds between polls of a mailbox. Default `60`. */
  pollIntervalSeconds: number
  /** Largest email downloaded whole, in bytes. Default 25 MB. */
  maxEmailBytes: number
  /** Days a raw original is kept once its email reached an end state; then the retention job purges it. Default `30`. */
  rawRetentionDays: number
  /** Log level for pino. Default `info`. */
  logLevel: string
  /** Requests per minute per client address on public routes (probes, Graph webhooks); 0 turns the limit off. Default `6000`. */
  publicRateLimit: number
  /** Lifetime asked for a Graph subscription, in minutes (fractions allowed); renewed when half of it or a day is left. Default `4200`. */
  graphSubscriptionMinutes: number
  /** Seconds between safety syncs of a webhook-mode Graph mailbox whose subscription is live. Default `900`. */
  graphResyncSeconds: number
  /** Seconds before the first retry of a failed delivery; each later retry waits twice as long. Default `2`. */
  handleRetryBaseSeconds: number
  /** Webhook deliveries may reach loopback, private and CGNAT addresses (never link-local or metadata). Default `false`. */
  webhookAllowPrivate: boolean
  /** Operator events (src/events/): the URL they are POSTed to and the `whsec_` secret that signs them; undefined = none is queued. */
  events?: { url: string, secret: string }
  /** How long a delivery POST may take, in ms; not read from the environment (tests shorten it). Default: src/handlers/http/post.ts. */
  deliveryTimeoutMs?: number
}

type Env = Record<string, string | undefined>

/**
 * A number setting: unset or empty gives the fallback; otherwise digits only
 * (with `decimals`, a fraction too) within [min, max], or (min, max] with
 * `aboveMin`. The error names the setting and what it wants.
 */
function numberSetting (
  env: Env, name: string, fallback: number, o: { min: number, max: number, wants: string, decimals?: boolean, aboveMin?: boolean }
): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!(o.decimals === true ? /^\d+(\.\d+)?$/ : /^\d+$/).test(raw.trim())) throw new ConfigError(name, `must be ${o.wants}, got "${raw}"`)
  const value = Number(raw)
  if (o.aboveMin === true ? value <= o.min || value > o.max : value < o.min || value > o.max) {
    throw new ConfigError(name, o.aboveMin === true ? `must be more than ${o.min} and at most ${o.max}, got ${value}` : `must be between ${o.min} and ${o.max}, got ${value}`)
  }
  return value
}

function integer (env: Env, name: string, fallback: number, min: number, max: number): number {
  return numberSetting(env, name, fallback, { min, max, wants: 'a whole number' })
}

/** A number of seconds, fractions allowed (`0.5`). */
function seconds (env: Env, name: string, fallback: number, min: number, max: number): number {
  return numberSetting(env, name, fallback, { min, max, wants: 'a number of seconds', decimals: true })
}

/** A number of minutes, fractions allowed (`0.25`), above min. */
function minutes (env: Env, name: string, fallback: number, min: number, max: number): number {
  return numberSetting(env, name, fallback, { min, max, wants: 'a number of minutes', decimals: true, aboveMin: true })
}

function flag (env: Env, name: string): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '' || raw === 'false') return false
  if (raw === 'true') return true
  throw new ConfigError(name, `must be true or false, got "${raw}"`)
}

function databaseUrl (env: Env): string | undefined {
  const raw = env.DATABASE_URL
  if (raw === undefined || raw === '') return undefined
  let url: URL
  try { url = new URL(raw) } catch { throw new ConfigError('DATABASE_URL', 'is not a valid URL (expected postgres://user:pass@host:port/db)') }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', `must use the postgres:// scheme, got "${url.protocol}"`)
  }
  return raw
}

/**
 * A comma list of 32-byte base64 keys, newest first (`new,old`); the error
 * names `name` (the setting or the key file) and the entry's position.
 */
export function parseKeys (name: string, raw: string): Buffer[] {
  const entries = raw.split(',').map(e => e.trim())
  return entries.map((entry, i) => {
    const which = entries.length === 1 ? 'the key' : `entry ${i + 1} of ${entries.length}`
    if (entry === '') throw new ConfigError(name, `${which} is empty (expected a comma list of base64 keys, newest first)`)
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(entry)) throw new ConfigError(name, `${which} must be base64`)
    const key = Buffer.from(entry, 'base64')
    if (key.length !== 32) throw new ConfigError(name, `${which} must decode to 32 bytes, got ${key.length}`)
    return key
  })
}

function encryptionKeys (env: Env): Buffer[] | undefined {
  const raw = env.MAILSLOT_ENCRYPTION_KEY
  if (raw === undefined || raw === '') return undefined
  return parseKeys('MAILSLOT_ENCRYPTION_KEY', raw)
}

function publicUrl (env: Env): string | undefined {
  const raw = env.MAILSLOT_PUBLIC_URL
  if (raw === undefined || raw === '') return undefined
  let url: URL
  try { url = new URL(raw) } catch { throw new ConfigError('MAILSLOT_PUBLIC_URL', 'is not a valid URL') }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('MAILSLOT_PUBLIC_URL', 'must be an https:// URL')
  return raw.replace(/\/+$/, '')
}

function adminToken (env: Env): string | undefined {
  const raw = env.MAILSLOT_ADMIN_TOKEN
  if (raw === undefined || raw === '') return undefined
  if (raw.length < 16) throw new ConfigError('MAILSLOT_ADMIN_TOKEN', 'must be at least 16 characters')
  return raw
}

/**
 * MAILSLOT_EVENTS_URL and MAILSLOT_EVENTS_SECRET, both or neither: an
 * http(s) URL the outbound policy lets through as it does webhook URLs, and
 * a `whsec_` secret (never quoted in an error).
 */
function events (env: Env, allowPrivate: boolean): Settings['events'] {
  const url = env.MAILSLOT_EVENTS_URL ?? ''
  const secret = env.MAILSLOT_EVENTS_SECRET ?? ''
  if (url === '' && secret === '') return undefined
  if (url === '') throw new ConfigError('MAILSLOT_EVENTS_URL', 'must be set when MAILSLOT_EVENTS_SECRET is')
  if (secret === '') throw new ConfigError('MAILSLOT_EVENTS_SECRET', 'must be set when MAILSLOT_EVENTS_URL is (whsec_<base64>)')
  if (!/^https?:$/.test(URL.parse(url)?.protocol ?? '')) throw new ConfigError('MAILSLOT_EVENTS_URL', 'must be an http:// or https:// URL')
  const refused = refusedUrl(url, deliveryReach('webhook', allowPrivate))
  if (refused !== undefined) throw new ConfigError('MAILSLOT_EVENTS_URL', refused)
  if (!new RegExp(WEBHOOK_SECRET_PATTERN).test(secret)) throw new ConfigError('MAILSLOT_EVENTS_SECRET', 'must be whsec_ followed by the base64 of the key')
  return { url, secret }
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

export function loadSettings (env: Env = process.env): Settings {
  const host = env.HOST === undefined || env.HOST === '' ? '127.0.0.1' : env.HOST
  const logLevel = env.MAILSLOT_LOG_LEVEL === undefined || env.MAILSLOT_LOG_LEVEL === '' ? 'info' : env.MAILSLOT_LOG_LEVEL
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError('MAILSLOT_LOG_LEVEL', `must be one of ${[...LOG_LEVELS].join(', ')}`)
  const webhookAllowPrivate = flag(env, 'MAILSLOT_WEBHOOK_ALLOW_PRIVATE')
  const configFile = env.MAILSLOT_CONFIG === undefined || env.MAILSLOT_CONFIG === '' ? undefined : path.resolve(env.MAILSLOT_CONFIG)
  return {
    databaseUrl: databaseUrl(env),
    dataDir: path.resolve(env.MAILSLOT_DATA_DIR === undefined || env.MAILSLOT_DATA_DIR === '' ? '.mailslot' : env.MAILSLOT_DATA_DIR),
    pgHome: path.resolve(env.MAILSLOT_PG_HOME === undefined || env.MAILSLOT_PG_HOME === '' ? DEFAULT_PG_HOME : env.MAILSLOT_PG_HOME),
    host,
    port: integer(env, 'PORT', 3000, 0, 65535),
    adminToken: adminToken(env),
    encryptionKeys: encryptionKeys(env),
    publicUrl: publicUrl(env),
    configFile,
    pollIntervalSeconds: integer(env, 'MAILSLOT_POLL_INTERVAL', 60, 5, 86400),
    maxEmailBytes: integer(env, 'MAILSLOT_MAX_EMAIL_BYTES', 25 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    rawRetentionDays: integer(env, 'MAILSLOT_RAW_RETENTION_DAYS', 30, 1, 36500),
    logLevel,
    publicRateLimit: integer(env, 'MAILSLOT_PUBLIC_RATE_LIMIT', 6000, 0, 10_000_000),
    // Graph's maximum for mail is 10080 minutes (older documents: 4230)
    graphSubscriptionMinutes: minutes(env, 'MAILSLOT_GRAPH_SUBSCRIPTION_MINUTES', 4200, 0, 10080),
    graphResyncSeconds: integer(env, 'MAILSLOT_GRAPH_RESYNC_SECONDS', 900, 5, 86400),
    handleRetryBaseSeconds: seconds(env, 'MAILSLOT_HANDLE_RETRY_BASE_SECONDS', 2, 0, 3600),
    webhookAllowPrivate,
    events: events(env, webhookAllowPrivate)
  }
}
