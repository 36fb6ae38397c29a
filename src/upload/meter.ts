import { createHash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { FileTooLargeError } from '../errors.js'

/**
 * Passes bytes through while counting and hashing them, and fails the stream
 * the moment the count passes the limit (multipart's own size limit would
 * silently truncate the file instead). With `keepHead`, it also keeps a copy
 * of the first bytes, so an image's header is read on the same pass.
 */
export class UploadMeter extends Transform {
  bytes = 0
  readonly #hash = createHash('sha256')
  readonly #limit: number
  readonly #keepHead: number
  readonly #head: Buffer[] = []
  #headLength = 0

  constructor (limit: number, { keepHead = 0 } = {}) {
    super()
    this.#limit = limit
    this.#keepHead = keepHead
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    if (this.bytes > this.#limit) {
      callback(new FileTooLargeError(this.#limit))
      return
    }
    this.#hash.update(chunk)
    if (this.#headLength < this.#keepHead) {
      const part = chunk.subarray(0, this.#keepHead - this.#headLength)
      // A copy: the chunk's memory belongs to the stream after this call.
      this.#head.push(Buffer.from(part))
      this.#headLength += part.length
    }
    callback(null, chunk)
  }

  /** The first `keepHead` bytes that passed (fewer for a shorter file). */
  head (): Buffer {
    return Buffer.concat(this.#head, this.#headLength)
  }

  /** Hex SHA-256 of everything that passed; call once, after the end. */
  sha256 (): string {
    return this.#hash.digest('hex')
  }
}
