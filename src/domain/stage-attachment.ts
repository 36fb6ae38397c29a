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
import type { AttachmentRow } from '../db/schema.js'
import { stageObject, type StageOptions } from '../upload/stage.js'

export interface StageAttachmentDeps {
  attachments: AttachmentRepository
  stage: StageOptions
  log: FastifyBaseLogger
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
    return await deps.attachments.insert({
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
      etag: staged.etag
    })
  } catch (err) {
    await deps.stage.storage.delete(staged.key).catch((cleanupError: unknown) => {
      deps.log.error({ err: cleanupError, key: staged.key }, 'could not delete the object of a failed upload; the orphan sweep will')
    })
    throw err
  }
}
