import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import type { Hash as SdkHash, SourceData } from '@smithy/types'

/** HMACs of a string key over one short message, remembered (see Sha256). */
const remembered = new Map<string, Buffer>()
const REMEMBERED_MAX = 64
/** Longer messages are never remembered: the signature's string-to-sign is one. */
const SHORT_MESSAGE = 64

/**
 * SHA-256 (or HMAC-SHA-256 with a secret) on node:crypto, in the shape the
 * SDK's SigV4 signer takes, so the signer works without the S3 client.
 *
 * The signer derives the key of its signing-key cache with an HMAC of the
 * secret access key over the access key id on every request (and, per day,
 * the signing key from "AWS4" + secret): the same string key over the same
 * short message, every time. Such an HMAC is computed once and remembered;
 * one over anything longer, or keyed with bytes (the signature itself), is
 * computed as usual.
 */
export class Sha256 implements SdkHash {
  readonly #secret: SourceData | undefined
  #hash: Hash | Hmac | undefined
  /** The first update of a string-keyed HMAC, held until it is known to be the only one. */
  #held: string | Uint8Array | undefined

  constructor (secret?: SourceData) {
    this.#secret = secret
  }

  update (data: SourceData): void {
    const chunk = bytes(data)
    if (this.#hash === undefined && this.#held === undefined && typeof this.#secret === 'string' && chunk.length <= SHORT_MESSAGE) {
      this.#held = chunk
      return
    }
    this.#started().update(chunk)
  }

  async digest (): Promise<Uint8Array> {
    if (this.#hash === undefined && this.#held !== undefined && typeof this.#secret === 'string') {
      const message = this.#held
      const key = `${this.#secret}\0${typeof message === 'string' ? `s${message}` : `b${Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString('hex')}`}`
      let mac = remembered.get(key)
      if (mac === undefined) {
        mac = createHmac('sha256', this.#secret).update(message).digest()
        if (remembered.size >= REMEMBERED_MAX) remembered.clear()
        remembered.set(key, mac)
      }
      // A copy: the caller owns what it gets.
      return new Uint8Array(mac)
    }
    return this.#started().digest()
  }

  reset (): void {
    this.#hash = undefined
    this.#held = undefined
  }

  #started (): Hash | Hmac {
    if (this.#hash === undefined) {
      this.#hash = this.#secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.#secret))
      if (this.#held !== undefined) {
        this.#hash.update(this.#held)
        this.#held = undefined
      }
    }
    return this.#hash
  }
}

function bytes (data: SourceData): string | Uint8Array {
  if (typeof data === 'string' || data instanceof Uint8Array) return data
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data)
}
