import { Type, type Static } from 'typebox'
import type { AttachmentRow } from '../db/schema.js'
import { attachmentUrl, previewUrl } from '../routes/paths.js'
import { AttachmentId, ExternalId, ref } from './common.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])
const Timestamp = Type.String({ format: 'date-time' })

export const PreviewState = Type.Enum(['pending', 'ready', 'none', 'failed'])

export const ImageInfo = Type.Object({
  width: Nullable(Type.Integer({ minimum: 1, description: 'As displayed (EXIF orientation applied); null when the header did not say' })),
  height: Nullable(Type.Integer({ minimum: 1 })),
  animated: Type.Boolean({ description: 'An animated GIF, WebP or APNG' }),
  placeholder: Nullable(Type.String({ description: 'ThumbHash of the image, base64; null until computed or when none can be' })),
  previews: Type.Object({
    state: PreviewState,
    reason: Nullable(Type.String({ description: 'For none/failed: too_many_pixels, too_large, unsupported_format, undecodable, timeout' })),
    sizes: Type.Array(Type.Integer(), { description: 'The sizes that can be asked for (empty for none/failed)' }),
    urls: Type.Record(Type.String({ pattern: '^[0-9]+$' }), Type.String(), { description: 'Browser URL of each size, relative to the service' })
  })
}, { description: 'Image facts and previews; null for a file that is not a raster image' })

export const Attachment = Type.Object({
  id: AttachmentId,
  dialogId: ExternalId,
  ownerId: ExternalId,
  uploadedBy: ExternalId,
  status: Type.Enum(['UPLOADED', 'LINKED']),
  messageId: Nullable(Type.String()),
  fileName: Type.String(),
  contentType: Type.String({ description: 'Detected from the bytes; the type the file is served with' }),
  declaredContentType: Nullable(Type.String()),
  size: Type.Integer({ minimum: 0 }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  etag: Type.String({ description: 'Strong entity tag of the bytes' }),
  createdAt: Timestamp,
  linkedAt: Nullable(Timestamp),
  lastModified: Timestamp,
  url: Type.String({ description: 'Browser URL of the bytes, relative to the service' }),
  image: Nullable(ImageInfo)
}, { $id: 'Attachment', title: 'Attachment', description: 'A staged (UPLOADED) or linked (LINKED) attachment' })

export type AttachmentDto = Static<typeof Attachment>

export const MessageAttachments = Type.Object({
  messageId: ExternalId,
  attachments: Type.Array(ref(Attachment))
}, { $id: 'MessageAttachments', title: 'MessageAttachments', description: 'The attachments of one message, oldest first' })

export const LinkRequest = Type.Object({
  messageId: ExternalId,
  attachmentIds: Type.Array(AttachmentId, { minItems: 1, maxItems: 50 })
}, { $id: 'LinkRequest', title: 'LinkRequest', additionalProperties: false })

export const DialogErased = Type.Object({
  dialogId: ExternalId,
  deleted: Type.Integer({ minimum: 0, description: 'How many attachments were deleted' })
}, { $id: 'DialogErased', title: 'DialogErased' })

/**
 * The upload form, for the document only: the route reads the multipart
 * stream itself (fields first, then the file), so no body schema validates it.
 */
export const UploadForm = Type.Object({
  ownerId: Type.Optional(ExternalId),
  uploadedBy: Type.Optional(ExternalId),
  file: Type.String({ format: 'binary', contentMediaType: 'application/octet-stream', description: 'The file; its part\'s filename is kept (sanitised) as fileName' })
}, {
  $id: 'UploadForm',
  title: 'UploadForm',
  description: 'multipart/form-data: `ownerId` (here or as a query parameter), optionally `uploadedBy` (defaults to ownerId), then exactly one file part named `file`, last'
})

/** What toAttachmentDto needs beyond the row. */
export interface DtoOptions {
  /** PREVIEW_SIZES */
  previewSizes: readonly number[]
}

export function toAttachmentDto (row: AttachmentRow, options: DtoOptions): AttachmentDto {
  return {
    id: row.id,
    dialogId: row.dialogId,
    ownerId: row.ownerId,
    uploadedBy: row.uploadedBy,
    status: row.status as AttachmentDto['status'],
    messageId: row.messageId,
    fileName: row.fileName,
    contentType: row.contentType,
    declaredContentType: row.declaredContentType,
    size: row.sizeBytes,
    sha256: row.sha256,
    etag: row.etag,
    createdAt: row.createdAt.toISOString(),
    linkedAt: row.linkedAt?.toISOString() ?? null,
    lastModified: row.lastModified.toISOString(),
    url: attachmentUrl(row.dialogId, row.id),
    image: imageInfo(row, options.previewSizes)
  }
}

function imageInfo (row: AttachmentRow, sizes: readonly number[]): AttachmentDto['image'] {
  const state = row.previewState
  if (state === null || row.imageFormat === null) return null
  const available = state === 'pending' || state === 'ready' ? sizes : []
  return {
    width: row.imageWidth,
    height: row.imageHeight,
    animated: row.imageAnimated ?? false,
    placeholder: row.imagePlaceholder,
    previews: {
      state,
      reason: row.previewReason,
      sizes: [...available],
      urls: Object.fromEntries(available.map((size) => [String(size), previewUrl(row.dialogId, row.id, size)]))
    }
  }
}
