/**
 * The OAuth app JSON of docs/contract.md: one JSON schema for its shape (the
 * API, the configuration file), then the rules that depend on `kind`, and
 * the defaults (the public services; overridable for national clouds and
 * test doubles) filled in before anything is stored.
 */
import { strictAjv } from '../../shared/strict-ajv.ts'
import { describeSchemaErrors, type FieldError } from '../../mailboxes/schema.ts'
import type { OAuthAppSpec } from '../types.ts'

const httpsUrl = { type: 'string', pattern: '^https://[^\\s/]+(/[^\\s]*)?$', maxLength: 2048 }

export const oauthAppSchema = {
  $id: 'oauth-app',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'clientId', 'clientSecret'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' },
    kind: { enum: ['microsoft', 'google'] },
    access: { enum: ['graph', 'imap'] },
    clientId: { type: 'string', minLength: 1, maxLength: 200 },
    clientSecret: { type: 'string', minLength: 1, maxLength: 4096 },
    tenant: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9.-]{0,199}$' },
    authorityHost: httpsUrl,
    graphBaseUrl: httpsUrl,
    issuer: httpsUrl,
    imap: {
      type: 'object',
      additionalProperties: false,
      required: ['host'],
      properties: {
        host: { type: 'string', minLength: 1, maxLength: 253 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        tls: { enum: ['implicit', 'starttls', 'none'] }
      }
    }
  }
} as const

/** Fields that belong to one kind (or one Microsoft access) only. */
const ONLY: Record<string, (s: OAuthAppSpec) => string | undefined> = {
  tenant: s => s.kind === 'microsoft' ? undefined : 'is for Microsoft apps only',
  authorityHost: s => s.kind === 'microsoft' ? undefined : 'is for Microsoft apps only',
  issuer: s => s.kind === 'google' ? undefined : 'is for Google apps only',
  graphBaseUrl: s => s.kind === 'microsoft' && (s.access ?? 'graph') === 'graph' ? undefined : 'is for Microsoft apps with access graph only',
  imap: s => s.kind === 'google' || s.access === 'imap' ? undefined : 'is for IMAP access only (Google, or Microsoft with access imap)',
  access: s => s.kind === 'google' && s.access !== 'imap' ? 'must be "imap" for Google apps (or left out)' : undefined
}

/** The first field that does not fit the app's kind, for a schema-valid app. */
export function kindError (spec: OAuthAppSpec): FieldError | undefined {
  for (const [field, rule] of Object.entries(ONLY)) {
    const message = (spec as unknown as Record<string, unknown>)[field] === undefined ? undefined : rule(spec)
    if (message !== undefined) return { field, message }
  }
  return undefined
}

const validate = strictAjv.compile(oauthAppSchema)

export type AppValidation = { ok: true, spec: OAuthAppSpec } | { ok: false, error: FieldError }

/** Shape and kind rules; the valid app comes back with its defaults. */
export function validateAppJson (value: unknown): AppValidation {
  if (!validate(value)) return { ok: false, error: describeSchemaErrors(validate.errors) }
  const spec = value as unknown as OAuthAppSpec
  const error = kindError(spec)
  return error === undefined ? { ok: true, spec: withDefaults(spec) } : { ok: false, error }
}

const trimSlash = (url: string): string => url.replace(/\/+$/, '')

function imapWithDefaults (imap: NonNullable<OAuthAppSpec['imap']>): NonNullable<OAuthAppSpec['imap']> {
  const tls = imap.tls ?? 'implicit'
  return { host: imap.host, port: imap.port ?? (tls === 'implicit' ? 993 : 143), tls }
}

/** The app with every optional field set: the public services of its kind where it names none. */
export function withDefaults (spec: OAuthAppSpec): OAuthAppSpec {
  if (spec.kind === 'google') {
    return {
      ...spec,
      access: 'imap',
      issuer: trimSlash(spec.issuer ?? 'https://accounts.google.com'),
      imap: imapWithDefaults(spec.imap ?? { host: 'imap.gmail.com' })
    }
  }
  const common = {
    ...spec,
    tenant: spec.tenant ?? 'organizations',
    authorityHost: trimSlash(spec.authorityHost ?? 'https://login.microsoftonline.com')
  }
  return spec.access === 'imap'
    ? { ...common, access: 'imap', imap: imapWithDefaults(spec.imap ?? { host: 'outlook.office365.com' }) }
    : { ...common, access: 'graph', graphBaseUrl: trimSlash(spec.graphBaseUrl ?? 'https://graph.microsoft.com') }
}
