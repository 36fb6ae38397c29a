// ObjectStorage on S3 or an S3-compatible server.
//
// - Uploads go through lib-storage: bodies up to one part (5 MiB) are sent as
//   one PutObject, larger ones as a multipart upload with at most
//   UPLOAD_QUEUE parts in flight, so memory per upload is bounded whatever the
//   file size. A failed upload is aborted so no parts linger.
// - Reads (get, head) do not go through the SDK's command stack: they are
//   signed with the SDK's SigV4 signer and its credentials, and sent on their
//   own undici pool (signed-get.ts), about a sixth of the CPU per call.
//   Writes, deletes, list and ping go through the SDK client.
// - Every call has connection, response and socket-idle timeouts, and each
//   pool (the SDK's agents, the reads' pool) is bounded by S3_MAX_SOCKETS: a
//   slow or dead S3 turns into a prompt 503, never a request that hangs.
// - "Not found" is recognised in one place per path: isNotFound for the SDK's
//   calls, HTTP 404 for the signed reads.
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  paginateListObjectsV2,
  S3Client
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import type { S3Config } from '../config.js'
import { createObjectReader, type ReadObserver } from './signed-get.js'
import { StorageUnavailableError, type DeleteManyResult, type ObjectInfo, type ObjectStorage } from './storage.js'

const PART_SIZE = 5 * 1024 * 1024
const UPLOAD_QUEUE = 2
const DELETE_BATCH = 1000

export interface S3Storage extends ObjectStorage {
  readonly client: S3Client
  /** Sockets of the pool, for readiness details and leak tests. */
  socketStats (): { active: number, idle: number, queued: number }
}

export interface S3StorageOptions {
  /** Told of every signed read (the S3 metrics). */
  observe?: ReadObserver
}

export function createS3Storage (config: S3Config, { observe }: S3StorageOptions = {}): S3Storage {
  const agentOptions = { keepAlive: true, maxSockets: config.S3_MAX_SOCKETS }
  const httpAgent = new HttpAgent(agentOptions)
  const httpsAgent = new HttpsAgent(agentOptions)
  const client = new S3Client({
    region: config.S3_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    ...(config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY } }
      : {}),
    // S3-compatible servers mishandle the SDK's default aws-chunked checksums.
    requestChecksumCalculation: config.S3_CHECKSUMS,
    responseChecksumValidation: config.S3_CHECKSUMS,
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({
      httpAgent,
      httpsAgent,
      connectionTimeout: config.S3_CONNECT_TIMEOUT_MS,
      requestTimeout: config.S3_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
      socketTimeout: config.S3_SOCKET_TIMEOUT_MS
    })
  })
  const Bucket = config.S3_BUCKET
  const reader = createObjectReader({ config, credentials: client.config.credentials, sha256: client.config.sha256, observe })

  return {
    client,

    async put (key, body, { contentType, signal }) {
      const upload = new Upload({
        client,
        params: { Bucket, Key: key, Body: body, ContentType: contentType },
        partSize: PART_SIZE,
        queueSize: UPLOAD_QUEUE,
        leavePartsOnError: false
      })
      // Failing the body (rather than upload.abort()) makes done() settle only
      // after lib-storage has aborted the multipart upload.
      const onAbort = () => body.destroy(signal?.reason instanceof Error ? signal.reason : new Error('upload aborted'))
      signal?.addEventListener('abort', onAbort, { once: true })
      try {
        await upload.done()
      } catch (err) {
        // lib-storage reports a failed abort instead of the cause; the body's
        // own error (too large, client gone) is what the caller must see.
        if (body.errored) throw body.errored
        throw unavailable('upload', err)
      } finally {
        signal?.removeEventListener('abort', onAbort)
      }
    },

    get: reader.get,
    head: reader.head,

    async delete (key) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket, Key: key }))
      } catch (err) {
        if (isNotFound(err)) return
        throw unavailable('delete', err)
      }
    },

    async deleteMany (keys) {
      const result: DeleteManyResult = { deleted: [], failed: [] }
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        const batch = keys.slice(i, i + DELETE_BATCH)
        try {
          const res = await client.send(new DeleteObjectsCommand({
            Bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: false }
          }))
          const failed = new Map((res.Errors ?? []).map((e) => [e.Key ?? '', e]))
          for (const key of batch) {
            const error = failed.get(key)
            // A key that is already gone counts as deleted.
            if (error && error.Code !== 'NoSuchKey') {
              result.failed.push({ key, code: error.Code ?? 'Unknown', message: error.Message ?? '' })
            } else {
              result.deleted.push(key)
            }
          }
        } catch (err) {
          const { name, message } = err as Error
          for (const key of batch) result.failed.push({ key, code: name, message })
        }
      }
      return result
    },

    async * list ({ prefix, pageSize = 1000, signal }) {
      const pages = paginateListObjectsV2({ client, pageSize }, { Bucket, Prefix: prefix }, ...(signal ? [{ abortSignal: signal }] : []))
      try {
        for await (const page of pages) {
          for (const object of page.Contents ?? []) {
            if (object.Key === undefined) continue
            const info: ObjectInfo = { key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) }
            yield info
          }
        }
      } catch (err) {
        throw unavailable('list', err)
      }
    },

    async ping ({ signal } = {}) {
      try {
        await client.send(new HeadBucketCommand({ Bucket }), signal ? { abortSignal: signal } : {})
      } catch (err) {
        throw unavailable('ping', err)
      }
    },

    socketStats () {
      const count = (table: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(table).reduce((n, list) => n + (list?.length ?? 0), 0)
      const reads = reader.socketStats()
      return {
        active: count(httpAgent.sockets) + count(httpsAgent.sockets) + reads.active,
        idle: count(httpAgent.freeSockets) + count(httpsAgent.freeSockets) + reads.idle,
        queued: count(httpAgent.requests) + count(httpsAgent.requests) + reads.queued
      }
    },

    destroy () {
      reader.destroy()
      client.destroy()
      httpAgent.destroy()
      httpsAgent.destroy()
    }
  }
}

function isNotFound (err: unknown): boolean {
  const e = err as { name?: string, Code?: string, $metadata?: { httpStatusCode?: number } }
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.Code === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404
}

function unavailable (operation: string, cause: unknown): StorageUnavailableError {
  const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
  return new StorageUnavailableError(`S3 ${operation} failed (${detail})`, { cause })
}
