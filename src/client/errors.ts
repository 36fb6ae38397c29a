import type { components } from './openapi-types.js'

/** The service's error body (README "Errors"). */
export type ErrorBody = components['schemas']['Error']

/** The service's stable codes; another string is a code added since this client. */
export type ServiceErrorCode =
  | 'ATT_VALIDATION' | 'ATT_BAD_UPLOAD' | 'ATT_EMPTY_FILE' | 'ATT_FILE_TOO_LARGE' | 'ATT_TYPE_NOT_ALLOWED'
  | 'ATT_NOT_MULTIPART' | 'ATT_NOT_FOUND' | 'ATT_LINK_CONFLICT' | 'ATT_UNAUTHORIZED' | 'ATT_FORBIDDEN'
  | 'ATT_INFECTED' | 'ATT_METADATA_UNSTRIPPABLE' | 'ATT_BUSY' | 'ATT_UNAVAILABLE' | 'ATT_SCANNER_UNAVAILABLE'
  | 'ATT_RATE_LIMITED' | 'ATT_INTERNAL'

/**
 * What the client itself reports: the service could not be reached (or the
 * call was aborted), or answered with something that is not the service's
 * error body (a proxy's page, say).
 */
export type ClientFailureCode = 'CLIENT_NETWORK' | 'CLIENT_BAD_RESPONSE'

export type ErrorCode = ServiceErrorCode | ClientFailureCode | (string & {})

/** A failed call: the HTTP status (0 when no answer came) and the service's `code`. */
export class ClientError extends Error {
  override readonly name = 'ClientError'
  readonly status: number
  readonly code: ErrorCode
  /** Seconds the service asked to wait before retrying (Retry-After), when it did. */
  readonly retryAfterSeconds: number | undefined

  constructor (status: number, code: ErrorCode, message: string, options: { retryAfterSeconds?: number, cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.status = status
    this.code = code
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

/** Turns a non-2xx answer into a ClientError, reading its body (small: errors are JSON). */
export async function errorFrom (response: Response): Promise<ClientError> {
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN)
  const options = Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}
  const text = await response.text().catch(() => '')
  try {
    const body = JSON.parse(text) as Partial<ErrorBody>
    if (typeof body.code === 'string' && typeof body.message === 'string') {
      return new ClientError(response.status, body.code, body.message, options)
    }
  } catch {}
  return new ClientError(response.status, 'CLIENT_BAD_RESPONSE', `HTTP ${response.status} without the service's error body`, options)
}
