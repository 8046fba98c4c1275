/**
 * The one error handler: every failure answers {"error":{"code","message"}}
 * with a code from src/shared/errors.ts; validation failures name the field.
 */
import type { FastifyError, FastifyInstance } from 'fastify'
import { describeSchemaErrors } from '../mailboxes/schema.ts'
import { AppError } from '../shared/errors.ts'

interface ErrorBody { error: { code: string, message: string, field?: string } }

export function toErrorBody (err: AppError): ErrorBody {
  return { error: { code: err.code, message: err.message, ...(err.field !== undefined ? { field: err.field } : {}) } }
}

function classify (err: FastifyError & { validation?: unknown }): AppError {
  if (err instanceof AppError) return err
  if (Array.isArray(err.validation)) {
    const { field, message } = describeSchemaErrors(err.validation as never)
    const context = (err as { validationContext?: string }).validationContext
    const name = context === 'body' || context === undefined ? field : (field === 'body' ? context : field)
    return new AppError(`invalid_${name}`, `${name} ${message}`, name)
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new AppError('payload_too_large')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new AppError('unsupported_media_type')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return new AppError('invalid_request', 'the body is not valid JSON')
  }
  if (err.statusCode === 429) return new AppError('rate_limited', err.message)
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new AppError('invalid_request', err.message)
  return new AppError('internal_error')
}

export function registerErrorHandling (app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const appError = classify(err)
    if (appError.status >= 500) request.log.error({ err }, 'request failed')
    void reply.status(appError.status).send(toErrorBody(appError))
  })
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(toErrorBody(new AppError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`)))
  })
}
