import { Type } from 'typebox'

// Dialog, message and user ids of the main app: opaque, URL-safe, bounded.
export const ID_PATTERN = '^[A-Za-z0-9_-]{1,128}$'
export const ID_REGEX = new RegExp(ID_PATTERN)

export const ExternalId = Type.String({ pattern: ID_PATTERN, description: 'An id of the main chat app: 1-128 of A-Z a-z 0-9 _ -' })
export const AttachmentId = Type.String({ format: 'uuid', description: 'Attachment id (UUID)' })

export const DialogParams = Type.Object({ dialogId: ExternalId })
export const AttachmentParams = Type.Object({ dialogId: ExternalId, attachmentId: AttachmentId })

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String()
}, { description: 'Every error answer has this shape' })

/** Response schemas for the given error statuses, for serialisation and OpenAPI. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, ErrorResponse]))
