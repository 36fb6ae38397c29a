import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { isDatabaseUnavailable } from '../db/errors.js'
import { attachmentNotFound, RouteNotFoundError, type WithHeaders, type WithReason } from '../errors.js'
import { ERROR_CACHE_CONTROL, securityHeaders } from '../http/security-headers.js'
import { isPublicPath } from '../routes/paths.js'

export interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
}

/**
 * Turns every error into { statusCode, code, error, message }. Client errors
 * keep their message; server errors are logged with their stack and answered
 * with a generic message, so no internals leave the process. An unreachable
 * dependency is a retryable 503, not a 500.
 */
// 503s the service answers by design when one of its bounds is reached.
const SHED = new Set(['ATT_BUSY', 'ATT_PREVIEW_BUSY', 'ATT_PREVIEW_PENDING'])

export default fp(async function errorsPlugin (app) {
  app.setErrorHandler(function errorHandler (error: FastifyError & WithHeaders & WithReason, request, reply) {
    // Nobody is left to answer: a client that hung up (or was cut for
    // stalling) is the client's doing, logged once at info, never as a
    // failure of the service or of a dependency.
    if (clientGone(request, error)) {
      request.log.info({ code: error.code }, 'client closed the connection before the answer')
      return reply
    }
    const body = errorBody(error)
    if (SHED.has(body.code)) {
      // Load shed on purpose (a bound was reached): counted, not a failure,
      // and a client must not be able to fill the error log with it.
      request.log.warn({ code: body.code }, 'request shed: a bound was reached')
    } else if (body.statusCode >= 500) {
      request.log.error({ err: error }, 'request failed')
    } else {
      request.log.info({ code: body.code, message: body.message, ...(error.reason ? { reason: error.reason } : {}) }, 'request rejected')
    }
    if (reply.sent || reply.raw.headersSent) return
    if (error.headers) reply.headers(error.headers)
    if (body.statusCode === 503) reply.header('retry-after', '5')
    return reply.code(body.statusCode).type('application/json; charset=utf-8').send(body)
  })

  app.setNotFoundHandler(function notFoundHandler (request: FastifyRequest, reply: FastifyReply) {
    const error = new RouteNotFoundError(request.method, request.url.split('?', 1)[0]!)
    return reply.code(404).send(errorBody(error))
  })
}, { name: 'errors', fastify: '5.x' })

/**
 * Errors Fastify raises before routing (a path parameter over the length
 * limit, bad percent-encoding). Their default answers are a 414 labelled
 * "Bad Request" and a message that repeats the raw URL, query token
 * included. Here they are a plain 400; under /v1 they are the browser
 * route's one 404, like any other malformed id.
 */
export function frameworkErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  request.log.info({ code: error.code }, 'request rejected before routing')
  if (isPublicPath(request.url)) {
    reply.server.metrics.http.denials.inc({ reason: 'malformed_id' })
    reply.code(404)
      .headers({ ...securityHeaders(reply.server.config), 'cache-control': ERROR_CACHE_CONTROL })
      .send(errorBody(attachmentNotFound()))
    return
  }
  reply.code(400).send(shape(400, 'ATT_VALIDATION', 'Malformed URL or path parameter'))
}

// What a request stream or socket raises when the peer goes away.
const CLIENT_ABORT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ATT_CLIENT_GONE'])

function clientGone (request: FastifyRequest, error: FastifyError): boolean {
  if (!request.raw.socket?.destroyed) return false
  const status = typeof error.statusCode === 'number' ? error.statusCode : 500
  return CLIENT_ABORT_CODES.has(error.code) || status < 500
}

export function errorBody (error: FastifyError): ErrorBody {
  if (error.validation) return shape(400, 'ATT_VALIDATION', error.message)
  if (isDatabaseUnavailable(error)) return shape(503, 'ATT_UNAVAILABLE', 'The database is unavailable, try again later')
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
  if (status === 503) return shape(503, error.code ?? 'ATT_UNAVAILABLE', 'A dependency is unavailable, try again later')
  if (status >= 500) return shape(status, 'ATT_INTERNAL', 'Internal Server Error')
  return shape(status, error.code ?? 'ATT_BAD_REQUEST', error.message)
}

function shape (statusCode: number, code: string, message: string): ErrorBody {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message }
}
