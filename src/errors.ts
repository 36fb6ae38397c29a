// Every error the service answers with, declared once with a stable code and
// status. The error handler (plugins/errors.ts) turns them into
// { statusCode, code, error, message }.
import createError from '@fastify/error'
import type { FastifyError } from 'fastify'

export const NotFoundError = createError('ATT_NOT_FOUND', '%s', 404)

/** Why a browser request was answered with the common 404: logs and metrics only. */
export type DenialReason = 'unknown_id' | 'malformed_id' | 'wrong_dialog' | 'no_access' | 'service_token' | 'being_deleted' | 'object_missing' | 'unknown_route' | 'revoked'

/** Errors may say why they happened, for the log line only; the answer never does. */
export interface WithReason {
  reason?: string
}

/** The browser route's one answer for everything that is not a readable attachment. */
export const attachmentNotFound = (reason?: DenialReason): FastifyError & WithReason =>
  Object.assign(new NotFoundError('Attachment not found'), reason ? { reason } : {})
export const RouteNotFoundError = createError('ATT_ROUTE_NOT_FOUND', 'Route %s %s not found', 404)
export const LinkConflictError = createError('ATT_LINK_CONFLICT', 'Attachments already linked to another message or being deleted: %s', 409)
export const BadUploadError = createError('ATT_BAD_UPLOAD', '%s', 400)
export const BadRequestError = createError('ATT_VALIDATION', '%s', 400)
export const EmptyFileError = createError('ATT_EMPTY_FILE', 'The file is empty', 400)
export const FileTooLargeError = createError('ATT_FILE_TOO_LARGE', 'The file exceeds the limit of %d bytes', 413)
export const TypeNotAllowedError = createError('ATT_TYPE_NOT_ALLOWED', 'Files of type %s are not allowed', 415)
export const NotMultipartError = createError('ATT_NOT_MULTIPART', 'Expected a multipart/form-data request body', 415)
export const UnavailableError = createError('ATT_UNAVAILABLE', '%s is unavailable, try again later', 503)
export const RateLimitedError = createError('ATT_RATE_LIMITED', 'Rate limit exceeded, retry in %s', 429)
export const PreconditionFailedError = createError('ATT_PRECONDITION_FAILED', 'A precondition (If-Match or If-Unmodified-Since) failed', 412)
export const RangeNotSatisfiableError = createError('ATT_RANGE_NOT_SATISFIABLE', 'The requested range is not satisfiable', 416)
export const TooManyDownloadsError = createError('ATT_TOO_MANY_DOWNLOADS', 'Too many downloads at once for this user (at most %d); retry when one has finished', 429)
export const BusyError = createError('ATT_BUSY', '%s, try again shortly', 503)
/** An attachment the reader may read has no preview (not an image, over the pixel cap, undecodable). */
export const NoPreviewError = createError('ATT_NO_PREVIEW', 'This attachment has no preview%s', 404)
/** The preview is being made and was not ready within PREVIEW_WAIT_MS. */
export const PreviewPendingError = createError('ATT_PREVIEW_PENDING', 'The preview is not ready yet, try again shortly', 503)
/** clamd found malware; the message names the signature (it reaches the client and the log). */
export const InfectedError = createError('ATT_INFECTED', 'The file contains malware (%s)', 422)
/**
 * The file could not be scanned (clamd unreachable, too slow, or it refused
 * the stream): the upload fails closed. The error handler answers 503 with
 * Retry-After and logs this message, which says why.
 */
export const ScannerUnavailableError = createError('ATT_SCANNER_UNAVAILABLE', 'The malware scanner is unavailable: %s', 503)

const UnauthorizedError = createError('ATT_UNAUTHORIZED', '%s', 401)
const ForbiddenError = createError('ATT_FORBIDDEN', '%s', 403)

const REALM = 'realm="chat-attachments"'

/** Errors may carry response headers; the error handler sends them. */
export interface WithHeaders {
  headers?: Record<string, string>
}

// RFC 6750 §3: a request without a token gets a bare challenge; a bad token
// gets error="invalid_token"; a token lacking a scope gets a 403 naming it.
export function missingToken (): Error & WithHeaders {
  return Object.assign(new UnauthorizedError('A bearer token is required'), {
    headers: { 'www-authenticate': `Bearer ${REALM}` }
  })
}

export function invalidToken (reason?: string): Error & WithHeaders & WithReason {
  return Object.assign(new UnauthorizedError('The token is invalid or expired'), {
    headers: { 'www-authenticate': `Bearer ${REALM}, error="invalid_token"` },
    ...(reason ? { reason } : {})
  })
}

export function insufficientScope (scope: string): Error & WithHeaders {
  return Object.assign(new ForbiddenError(`The token lacks the "${scope}" scope`), {
    headers: { 'www-authenticate': `Bearer ${REALM}, error="insufficient_scope", scope="${scope}"` }
  })
}
