import { Type, type Static, type TSchema, type TUnsafe } from 'typebox'

// Dialog, message and user ids of the main app: opaque, URL-safe, bounded.
export const ID_PATTERN = '^[A-Za-z0-9_-]{1,128}$'
export const ID_REGEX = new RegExp(ID_PATTERN)

export const ExternalId = Type.String({ pattern: ID_PATTERN, description: 'An id of the main chat app: 1-128 of A-Z a-z 0-9 _ -' })
export const AttachmentId = Type.String({ format: 'uuid', description: 'Attachment id (UUID)' })

export const DialogParams = Type.Object({ dialogId: ExternalId })
export const AttachmentParams = Type.Object({ dialogId: ExternalId, attachmentId: AttachmentId })

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer({ minimum: 400, maximum: 599 }),
  code: Type.String({ description: 'Stable machine-readable code, e.g. ATT_NOT_FOUND (README "Errors")' }),
  error: Type.String({ description: 'The HTTP reason phrase' }),
  message: Type.String({ description: 'For people; server errors carry no details' })
}, { $id: 'Error', title: 'Error', description: 'Every error answer has this shape' })

/**
 * A reference to a shared schema (one with an `$id`, registered by the
 * openapi plugin): validation and serialisation resolve it, the document
 * lists the schema once under components.schemas, and the type provider
 * still sees the schema's own static type.
 */
export function ref<T extends TSchema> (schema: T, options: { description?: string } = {}): TUnsafe<Static<T>> {
  const id = '$id' in schema ? schema.$id : undefined
  if (typeof id !== 'string') throw new Error('only a schema with an $id can be referenced')
  // Unsafe: a schema of the given static type, whatever its JSON (here a $ref).
  return Type.Unsafe<Static<T>>({ $ref: `${id}#`, ...options })
}

// What each error status means on the internal API; the answer's `code`
// says which case it is.
const ERROR_MEANINGS: Record<number, string> = {
  400: 'The request is invalid (ATT_VALIDATION, ATT_BAD_UPLOAD, ATT_EMPTY_FILE)',
  401: 'No token, or a bad or expired one (ATT_UNAUTHORIZED)',
  403: 'The token lacks the attachments:write scope (ATT_FORBIDDEN)',
  404: 'No such attachment in this dialog (ATT_NOT_FOUND)',
  409: 'An attachment is linked to another message or being deleted (ATT_LINK_CONFLICT)',
  413: 'The file exceeds ATTACHMENT_MAX_BYTES (ATT_FILE_TOO_LARGE)',
  415: 'Not multipart/form-data (ATT_NOT_MULTIPART), or a file type that is not allowed (ATT_TYPE_NOT_ALLOWED)',
  422: 'Malware found (ATT_INFECTED), or metadata that cannot be checked for location data (ATT_METADATA_UNSTRIPPABLE)',
  503: 'Busy or a dependency is failing; retry after Retry-After (ATT_BUSY, ATT_UNAVAILABLE, ATT_SCANNER_UNAVAILABLE)'
}

/** Response schemas for the given error statuses, for serialisation and OpenAPI. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, ref(ErrorResponse, { description: ERROR_MEANINGS[status] ?? 'Error' })]))
