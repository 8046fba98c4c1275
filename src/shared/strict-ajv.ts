/**
 * The one validator for input mailslot accepts as it is: no type coercion and
 * no silent removal of unknown fields (Fastify's default Ajv does both), so
 * the API, the CLI and the config file agree on what is valid.
 */
import { Ajv } from 'ajv'

export const strictAjv = new Ajv({ allErrors: false, strict: false })

/** A Fastify `validatorCompiler` for routes whose body must be taken as it is. */
export const strictValidatorCompiler = ({ schema }: { schema: object }): ReturnType<Ajv['compile']> => strictAjv.compile(schema)
