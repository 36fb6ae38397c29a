import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import type { Hash as SdkHash, SourceData } from '@smithy/types'

/**
 * SHA-256 (or HMAC-SHA-256 with a secret) on node:crypto, in the shape the
 * SDK's SigV4 signer takes, so the signer works without the S3 client.
 */
export class Sha256 implements SdkHash {
  readonly #secret: SourceData | undefined
  #hash: Hash | Hmac

  constructor (secret?: SourceData) {
    this.#secret = secret
    this.#hash = this.#create()
  }

  update (data: SourceData): void {
    this.#hash.update(bytes(data))
  }

  async digest (): Promise<Uint8Array> {
    return this.#hash.digest()
  }

  reset (): void {
    this.#hash = this.#create()
  }

  #create (): Hash | Hmac {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.#secret))
  }
}

function bytes (data: SourceData): string | Uint8Array {
  if (typeof data === 'string' || data instanceof Uint8Array) return data
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data)
}
