import { createHash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { FileTooLargeError } from '../errors.js'

/**
 * Passes bytes through while counting and hashing them, and fails the stream
 * the moment the count passes the limit (multipart's own size limit would
 * silently truncate the file instead).
 */
export class UploadMeter extends Transform {
  bytes = 0
  readonly #hash = createHash('sha256')
  readonly #limit: number

  constructor (limit: number) {
    super()
    this.#limit = limit
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    if (this.bytes > this.#limit) {
      callback(new FileTooLargeError(this.#limit))
      return
    }
    this.#hash.update(chunk)
    callback(null, chunk)
  }

  /** Hex SHA-256 of everything that passed; call once, after the end. */
  sha256 (): string {
    return this.#hash.digest('hex')
  }
}
