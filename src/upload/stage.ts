import { randomUUID } from 'node:crypto'
import { pipeline } from 'node:stream'
import type { Readable } from 'node:stream'
import { EmptyFileError, TypeNotAllowedError } from '../errors.js'
import { attachmentKey } from '../storage/keys.js'
import type { ObjectStorage } from '../storage/storage.js'
import { detectContentType, isTypeAllowed, SNIFF_BYTES } from './content-type.js'
import { UploadMeter } from './meter.js'
import { peek } from './peek.js'

export interface StageOptions {
  storage: ObjectStorage
  keyPrefix: string
  maxBytes: number
  allowedTypes: readonly string[] | undefined
}

export interface StagedObject {
  id: string
  key: string
  contentType: string
  size: number
  sha256: string
  etag: string
}

/**
 * Streams one file into storage under a fresh id. The type is decided from
 * the first bytes before anything is sent, so a refused type (415) or an
 * empty file (400) never reaches storage; size and SHA-256 are computed on
 * the way and the size limit (413) fails the stream, which makes storage
 * discard what it received.
 */
export async function stageObject (options: StageOptions, input: {
  dialogId: string
  file: Readable
  declaredType: string | undefined
  signal?: AbortSignal
}): Promise<StagedObject> {
  const { head, body } = await peek(input.file, SNIFF_BYTES)
  if (head.length === 0) {
    body.destroy()
    throw new EmptyFileError()
  }
  const contentType = await detectContentType(head, input.declaredType)
  if (!isTypeAllowed(contentType, options.allowedTypes)) {
    body.destroy()
    throw new TypeNotAllowedError(contentType)
  }

  const id = randomUUID()
  const key = attachmentKey(options.keyPrefix, input.dialogId, id)
  const meter = new UploadMeter(options.maxBytes)
  // Errors reach storage.put through the meter, which rethrows them.
  pipeline(body, meter, () => {})
  try {
    await options.storage.put(key, meter, { contentType, ...(input.signal ? { signal: input.signal } : {}) })
  } catch (err) {
    // Storage gave up without reading to the end: release the source.
    meter.destroy()
    throw err
  }
  const sha256 = meter.sha256()
  return { id, key, contentType, size: meter.bytes, sha256, etag: strongEtag(sha256) }
}

/** RFC 9110 §8.8.3: a strong validator that changes exactly when the bytes do. */
export function strongEtag (sha256Hex: string): string {
  return `"${Buffer.from(sha256Hex, 'hex').toString('base64url')}"`
}
