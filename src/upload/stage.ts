import { randomUUID } from 'node:crypto'
import { pipeline } from 'node:stream'
import type { Readable } from 'node:stream'
import { EmptyFileError, TypeNotAllowedError } from '../errors.js'
import { imageFormatOf, PROBE_BYTES, probeImage, type ImageProbe } from '../images/index.js'
import type { Scanner } from '../scan/scanner.js'
import { teeToScanner } from '../scan/tee.js'
import { attachmentKey } from '../storage/keys.js'
import type { ObjectStorage } from '../storage/storage.js'
import { detectContentType, isTypeAllowed, SNIFF_BYTES } from './content-type.js'
import { UploadMeter } from './meter.js'
import { peek } from './peek.js'
import { createLocationStripper } from './strip-location/index.js'

export interface StageOptions {
  storage: ObjectStorage
  keyPrefix: string
  maxBytes: number
  allowedTypes: readonly string[] | undefined
  /** ORIGINAL_METADATA=strip-location: GPS and device serials leave the stored bytes. */
  stripLocation: boolean
  /** SCAN_MODE=clamd: the stored bytes are scanned on the way; nothing unscanned is stored. */
  scanner?: Scanner | undefined
}

export interface StagedObject {
  id: string
  key: string
  contentType: string
  size: number
  sha256: string
  etag: string
  /**
   * For a raster image type: what its header says (undefined when it gives
   * no size; the file is stored all the same). Null for anything else.
   */
  image: ImageProbe | undefined | null
}

/**
 * Streams one file into storage under a fresh id. The type is decided from
 * the first bytes before anything is sent, so a refused type (415) or an
 * empty file (400) never reaches storage. Then, in one pass:
 *
 *   file -> [location stripper] -> meter -> [tee to the scanner] -> storage
 *
 * The meter sees the bytes as they will be stored, so size, SHA-256 and the
 * ETag are those of the stored object, and its size limit (413) fails the
 * stream. With a scanner, storage's stream ends only after a clean verdict:
 * an infected file (422) or one that could not be scanned (503) fails the
 * upload and storage discards what it received. Every failure reaches
 * storage.put as its body's error, which is the error it rejects with.
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
  const format = imageFormatOf(contentType)
  const meter = new UploadMeter(options.maxBytes, { keepHead: format ? PROBE_BYTES : 0 })
  const stripper = options.stripLocation ? createLocationStripper(contentType) : undefined
  // Errors reach storage.put through the stream it reads, which rethrows them.
  if (stripper) pipeline(body, stripper, meter, () => {})
  else pipeline(body, meter, () => {})
  const stored = options.scanner ? teeToScanner(meter, options.scanner.startScan(input.signal ? { signal: input.signal } : {})) : meter
  try {
    await options.storage.put(key, stored, { contentType, ...(input.signal ? { signal: input.signal } : {}) })
  } catch (err) {
    // Storage gave up without reading to the end: release the source.
    stored.destroy()
    meter.destroy()
    throw err
  }
  const sha256 = meter.sha256()
  // The header of the stored bytes, read on the way: no decode, no second pass.
  const image = format ? probeImage(meter.head()) : null
  return { id, key, contentType, size: meter.bytes, sha256, etag: strongEtag(sha256), image }
}

/** RFC 9110 §8.8.3: a strong validator that changes exactly when the bytes do. */
export function strongEtag (sha256Hex: string): string {
  return `"${Buffer.from(sha256Hex, 'hex').toString('base64url')}"`
}
