/**
 * Response schemas for mailboxes, derived from the input schema with every
 * secret path removed: the serializer cannot emit a secret even by mistake.
 */
import { mailboxSchema } from '../../mailboxes/schema.ts'
import { SECRET_PATHS } from '../../mailboxes/secrets.ts'

type SchemaObject = Record<string, unknown> & { properties?: Record<string, SchemaObject> }

/** A response describes what is there; input rules (required, allOf…) do not apply. */
function describeOnly (node: SchemaObject): void {
  for (const k of ['required', 'allOf', 'if', 'then', 'not', 'minProperties', 'maxProperties', '$id']) delete node[k]
  for (const child of Object.values(node.properties ?? {})) describeOnly(child)
}

function withoutSecrets (): SchemaObject {
  const schema = structuredClone(mailboxSchema) as unknown as SchemaObject
  describeOnly(schema)
  // delivery variants: describe every non-secret field of every kind
  schema.properties!.delivery = {
    type: 'object',
    properties: { kind: { type: 'string' }, url: { type: 'string' }, mailboxType: { type: 'string' }, secretFile: { type: 'string' } }
  }
  for (const path of SECRET_PATHS) {
    const keys = path.split('.')
    let node: SchemaObject | undefined = schema
    for (const k of keys.slice(0, -1)) node = node?.properties?.[k]
    if (node?.properties !== undefined) delete node.properties[keys[keys.length - 1]]
  }
  return schema
}

const healthSchema = {
  type: 'object',
  properties: {
    state: { type: 'string' },
    lastPollAt: { type: ['string', 'null'] },
    lastSuccessAt: { type: ['string', 'null'] },
    lastError: { type: ['string', 'null'] },
    consecutiveFailures: { type: 'integer' }
  }
}

const base = withoutSecrets()
export const mailboxViewSchema = {
  ...base,
  properties: {
    ...base.properties,
    id: { type: 'integer' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    health: healthSchema,
    subscription: {
      type: ['object', 'null'],
      properties: {
        id: { type: ['string', 'null'] },
        expiresAt: { type: ['string', 'null'] },
        state: { type: 'string' },
        lastError: { type: ['string', 'null'] }
      }
    },
    connection: {
      type: ['object', 'null'],
      properties: { app: { type: 'string' }, account: { type: 'string' }, state: { type: 'string' }, connectedAt: { type: 'string' } }
    }
  }
}

export const mailboxListSchema = { type: 'object', properties: { items: { type: 'array', items: mailboxViewSchema } } }
