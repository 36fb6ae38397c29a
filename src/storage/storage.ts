// The storage contract the service needs, and nothing more. One conformance
// suite (test/storage/conformance.ts) runs against every implementation.
import type { Readable } from 'node:stream'

export interface ObjectInfo {
  key: string
  size: number
  lastModified: Date
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number
  /** Last byte, inclusive. */
  end: number
}

export interface ObjectBody {
  /** The bytes. Destroy it if you stop reading early: it holds a socket. */
  body: Readable
  contentLength: number
}

export interface DeleteManyResult {
  deleted: string[]
  failed: Array<{ key: string, code: string, message: string }>
}

export interface ObjectStorage {
  /**
   * Streams body to key. When it rejects, nothing is left behind: no object
   * and no unfinished multipart upload. If the body stream failed, that error
   * is the one rejected with.
   */
  put (key: string, body: Readable, options: { contentType: string, signal?: AbortSignal }): Promise<void>
  /** Throws ObjectNotFoundError for a missing key. */
  get (key: string, options?: { range?: ByteRange, signal?: AbortSignal }): Promise<ObjectBody>
  head (key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo | undefined>
  /** Idempotent: deleting a missing key succeeds. */
  delete (key: string): Promise<void>
  /** Batched; per-key failures are reported, not thrown. */
  deleteMany (keys: string[]): Promise<DeleteManyResult>
  /** Every object under prefix, oldest-first not guaranteed. */
  list (options: { prefix: string, pageSize?: number, signal?: AbortSignal }): AsyncIterable<ObjectInfo>
  /** Resolves when the bucket is reachable; used by readiness. */
  ping (options?: { signal?: AbortSignal }): Promise<void>
  /** Closes pooled connections. */
  destroy (): void
}

export class ObjectNotFoundError extends Error {
  override name = 'ObjectNotFoundError'
  constructor (readonly key: string) {
    super(`No object at ${key}`)
  }
}

/** The storage service failed or timed out; retryable, answered with 503. */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError'
  readonly statusCode = 503
  readonly code = 'ATT_UNAVAILABLE'
}
