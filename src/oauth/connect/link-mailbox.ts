/**
 * The new mailbox a connect link carries: the mailbox JSON without
 * `provider` and its credentials (`imap`, `graph`): those come from the app
 * the customer picks and the account they sign in with. Every other field is
 * checked by the mailbox schema's own rules; errors name `mailbox.<field>`.
 */
import { strictAjv } from '../../shared/strict-ajv.ts'
import { deliveryUrlError, describeSchemaErrors, mailboxSchema, type FieldError } from '../../mailboxes/schema.ts'
import { firstSecretRef } from '../../mailboxes/secret-refs.ts'

const FROM_THE_APP = ['provider', 'imap', 'graph'] as const

const { provider: _p, imap: _i, graph: _g, ...linkProperties } = mailboxSchema.properties
const linkMailboxSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: linkProperties
} as const

const validate = strictAjv.compile(linkMailboxSchema)

const inMailbox = (e: FieldError): FieldError => ({ field: `mailbox.${e.field}`, message: e.message })

/** The first problem of a link's new-mailbox JSON, if any. */
export function linkMailboxError (value: unknown, allowPrivateWebhooks: boolean): FieldError | undefined {
  if (value !== null && typeof value === 'object') {
    const own = FROM_THE_APP.find(k => k in value)
    if (own !== undefined) return { field: `mailbox.${own}`, message: 'comes from the app the customer connects with: leave it out' }
  }
  if (!validate(value)) return inMailbox(describeSchemaErrors(validate.errors))
  const ref = firstSecretRef(value)
  if (ref !== undefined) return { field: `mailbox.${ref}`, message: 'must be the value: secret references are not read from the API' }
  const refused = deliveryUrlError(value as Parameters<typeof deliveryUrlError>[0], allowPrivateWebhooks)
  return refused === undefined ? undefined : inMailbox(refused)
}
