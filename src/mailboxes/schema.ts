/**
 * The mailbox JSON of docs/contract.md as one JSON schema: the API, the CLI and the
 * config file all validate with it, and every error names the field.
 */
import type { ErrorObject } from 'ajv'
import { strictAjv } from '../shared/strict-ajv.ts'
import { deliveryReach, refusedUrl } from '../shared/address-policy.ts'
import { WEBHOOK_SECRET_PATTERN } from '../shared/webhook-secret.ts'

const hostname = { type: 'string', minLength: 1, maxLength: 253 }
const httpUrl = { type: 'string', pattern: '^https?://[^\\s]+$', maxLength: 2048 }

const imap = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'user'],
  properties: {
    host: hostname,
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    tls: { enum: ['implicit', 'starttls', 'none'] },
    user: { type: 'string', minLength: 1, maxLength: 320 },
    password: { type: 'string', minLength: 1, maxLength: 4096 },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        accessToken: { type: 'string', minLength: 1, maxLength: 16384 },
        /** Set by the connect flow alone (connectOnlyError). */
        oauthApp: { type: 'string', minLength: 1, maxLength: 63 }
      },
      minProperties: 1,
      maxProperties: 1
    },
    folder: { type: 'string', minLength: 1, maxLength: 500 },
    /** Which messages are taken (types.ts ImapSearch). Default `unseen`. */
    search: { enum: ['unseen', 'new', 'all'] },
    /** Connection and greeting timeout. Default 30. */
    connectTimeoutSeconds: { type: 'integer', minimum: 1, maximum: 300 },
    /** Verify the server certificate. Default true. */
    rejectUnauthorized: { type: 'boolean' },
    /** PEM certificate(s) to trust instead of the public CAs. Default none. */
    ca: { type: 'string', pattern: '-----BEGIN CERTIFICATE-----', maxLength: 65536 }
  }
}

const graph = {
  type: 'object',
  additionalProperties: false,
  required: ['user'],
  // app-only credentials, unless the connect flow made it a delegated mailbox
  if: { not: { required: ['oauthApp'] } },
  then: { required: ['tenantId', 'clientId', 'clientSecret'] },
  properties: {
    /** Set by the connect flow alone (connectOnlyError). */
    oauthApp: { type: 'string', minLength: 1, maxLength: 63 },
    tenantId: { type: 'string', minLength: 1, maxLength: 200 },
    clientId: { type: 'string', minLength: 1, maxLength: 200 },
    clientSecret: { type: 'string', minLength: 1, maxLength: 4096 },
    user: { type: 'string', minLength: 1, maxLength: 320 },
    folder: { type: 'string', minLength: 1, maxLength: 500 },
    cloud: { enum: ['global', 'usgov', 'usgov-dod', 'china'] },
    authorityHost: httpUrl,
    baseUrl: httpUrl
  }
}

const delivery = {
  type: 'object',
  required: ['kind'],
  properties: { kind: { enum: ['builtin', 'gitlab', 'webhook'] } },
  allOf: [
    {
      if: { properties: { kind: { const: 'builtin' } } },
      then: { additionalProperties: false, properties: { kind: {} } }
    },
    {
      if: { properties: { kind: { const: 'gitlab' } } },
      then: {
        additionalProperties: false,
        required: ['url', 'mailboxType', 'secretFile'],
        properties: {
          kind: {},
          url: httpUrl,
          mailboxType: { enum: ['incoming_email', 'service_desk_email'] },
          secretFile: { type: 'string', minLength: 1, maxLength: 4096 }
        }
      }
    },
    {
      if: { properties: { kind: { const: 'webhook' } } },
      then: {
        additionalProperties: false,
        required: ['url', 'secret'],
        properties: {
          kind: {},
          url: httpUrl,
          secret: { type: 'string', pattern: WEBHOOK_SECRET_PATTERN }
        }
      }
    }
  ]
}

export const mailboxSchema = {
  $id: 'mailbox',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'provider'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' },
    provider: { enum: ['imap', 'graph'] },
    imap,
    graph,
    mode: { enum: ['webhook', 'poll'] },
    address: { type: 'string', pattern: '^[^@\\s]*%\\{key\\}[^@\\s]*@[^@\\s]+$', maxLength: 320 },
    afterDelivery: { type: 'string', pattern: '^(seen|delete|move:.+)$', maxLength: 500 },
    delivery,
    pollIntervalSeconds: { type: 'integer', minimum: 5, maximum: 86400 },
    maxEmailBytes: { type: 'integer', minimum: 1024, maximum: 1073741824 },
    rejectPrecedenceBulk: { type: 'boolean' },
    serviceDeskProjectId: { type: 'integer', minimum: 1 }
  },
  allOf: [
    { if: { properties: { provider: { const: 'imap' } } }, then: { required: ['imap'], not: { required: ['graph'] } } },
    { if: { properties: { provider: { const: 'graph' } } }, then: { required: ['graph'], not: { required: ['imap'] } } }
  ]
} as const

export interface FieldError { field: string, message: string }

/** The first error, as the field it concerns and a sentence about it. */
export function describeSchemaErrors (errors: ErrorObject[] | null | undefined): FieldError {
  const byDepth = [...(errors ?? [])].filter(e => e.keyword !== 'if' && e.keyword !== 'allOf')
  // the most specific error first: the deepest path
  byDepth.sort((a, b) => b.instancePath.length - a.instancePath.length)
  const e = byDepth[0] ?? errors?.[0]
  if (e === undefined) return { field: 'body', message: 'is invalid' }
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.')
  const join = (name: string): string => base === '' ? name : `${base}.${name}`
  switch (e.keyword) {
    case 'required':
      return { field: join(String(e.params.missingProperty)), message: 'is required' }
    case 'additionalProperties':
      return { field: join(String(e.params.additionalProperty)), message: 'is not a known setting' }
    case 'not':
      return { field: base === '' ? 'provider' : base, message: 'has a section that does not belong to this provider' }
    case 'enum':
      return { field: base, message: `must be one of ${(e.params.allowedValues as unknown[]).map(v => JSON.stringify(v)).join(', ')}` }
    default:
      return { field: base === '' ? 'body' : base, message: e.message ?? 'is invalid' }
  }
}

const validate = strictAjv.compile(mailboxSchema)

export type MailboxValidation = { ok: true } | { ok: false, error: FieldError }

/** A schema-valid mailbox's delivery URL against the outbound URL policy (address-policy.ts). */
export function deliveryUrlError (spec: { delivery?: { kind: string, url?: string } }, allowPrivate: boolean): FieldError | undefined {
  const d = spec.delivery
  if (d?.url === undefined || (d.kind !== 'gitlab' && d.kind !== 'webhook')) return undefined
  const why = refusedUrl(d.url, deliveryReach(d.kind, allowPrivate))
  return why === undefined ? undefined : { field: 'delivery.url', message: `is refused: ${why}` }
}

/**
 * A mailbox that names an OAuth app is one a customer connected: only the
 * connect flow (src/oauth/connections) makes it, with the grant it stores.
 */
export function connectOnlyError (spec: {
  imap?: { auth?: { oauthApp?: string } }, graph?: { oauthApp?: string }
}): FieldError | undefined {
  const field = spec.imap?.auth?.oauthApp !== undefined ? 'imap.auth.oauthApp' : (spec.graph?.oauthApp !== undefined ? 'graph.oauthApp' : undefined)
  return field === undefined
    ? undefined
    : { field, message: 'is set when a customer connects the mailbox through a connect link (POST /api/v1/connect-links)' }
}

export function validateMailboxJson (value: unknown, allowPrivateWebhooks: boolean): MailboxValidation {
  if (!validate(value)) return { ok: false, error: describeSchemaErrors(validate.errors) }
  const spec = value as Parameters<typeof deliveryUrlError>[0] & Parameters<typeof connectOnlyError>[0]
  const refused = connectOnlyError(spec) ?? deliveryUrlError(spec, allowPrivateWebhooks)
  return refused === undefined ? { ok: true } : { ok: false, error: refused }
}
