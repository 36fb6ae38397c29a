// Staging a file, written once for the upload route (and any other caller):
// the bytes stream to storage under a fresh id, then the caller gets a last
// word (the upload route finishes reading its form there), then the row is
// written. Whatever fails after the object was stored, the object is deleted
// again, so a refused upload leaves no object, no row and no unfinished
// multipart upload (an object the rollback could not delete is an orphan,
// which the cleanup job's sweep removes).
import type { FastifyBaseLogger } from 'fastify'
import type { Readable } from 'node:stream'
import type { AttachmentRepository } from '../db/attachments.js'
import type { AttachmentRow, NewAttachmentRow } from '../db/schema.js'
import { imageFormatOf, type ImageProbe } from '../images/index.js'
import { stageObject, type StageOptions } from '../upload/stage.js'
import type { PreviewService } from './previews.js'

export interface StageAttachmentDeps {
  attachments: AttachmentRepository
  stage: StageOptions
  log: FastifyBaseLogger
  /** IMAGE_MAX_PIXELS: a larger image gets no previews (decided from its header). */
  maxImagePixels: number
  /** Makes the previews of an image once its row is written (in the background). */
  previews?: PreviewService | undefined
}

export interface StageAttachmentInput {
  dialogId: string
  file: Readable
  fileName: string
  declaredType: string | null
  signal?: AbortSignal
  /**
   * Runs once the bytes are stored and before the row is written; returns
   * the owner and uploader. Throwing here rolls the object back.
   */
  complete: () => Promise<{ ownerId: string, uploadedBy: string }>
}

export async function stageAttachment (deps: StageAttachmentDeps, input: StageAttachmentInput): Promise<AttachmentRow> {
  const staged = await stageObject(deps.stage, {
    dialogId: input.dialogId,
    file: input.file,
    declaredType: input.declaredType ?? undefined,
    ...(input.signal ? { signal: input.signal } : {})
  })
  try {
    const { ownerId, uploadedBy } = await input.complete()
    const row = await deps.attachments.insert({
      id: staged.id,
      dialogId: input.dialogId,
      ownerId,
      uploadedBy,
      status: 'UPLOADED',
      storageKey: staged.key,
      fileName: input.fileName,
      declaredContentType: input.declaredType,
      contentType: staged.contentType,
      sizeBytes: staged.size,
      sha256: staged.sha256,
      etag: staged.etag,
      ...imageColumns(staged.contentType, staged.image, deps.maxImagePixels)
    })
    deps.previews?.schedule(row)
    return row
  } catch (err) {
    await deps.stage.storage.delete(staged.key).catch((cleanupError: unknown) => {
      deps.log.error({ err: cleanupError, key: staged.key }, 'could not delete the object of a failed upload; the orphan sweep will')
    })
    throw err
  }
}

/**
 * The image columns of a new row: null for a file that is not a raster
 * image; otherwise its header's facts (width and height null when the header
 * did not give them) and the preview state. Over the pixel cap, or in a
 * format the decoders lack (BMP), there will be no previews, known at once.
 */
export function imageColumns (contentType: string, probe: ImageProbe | undefined | null, maxPixels: number): Partial<NewAttachmentRow> {
  const declared = imageFormatOf(contentType)
  if (!declared || probe === null) return {}
  const format = probe?.format ?? declared
  const facts = { imageFormat: format, imageWidth: probe?.width ?? null, imageHeight: probe?.height ?? null, imageAnimated: probe?.animated ?? false }
  if (probe && probe.pixels > maxPixels) return { ...facts, previewState: 'none', previewReason: 'too_many_pixels' }
  if (format === 'bmp') return { ...facts, previewState: 'none', previewReason: 'unsupported_format' }
  return { ...facts, previewState: 'pending' }
}
