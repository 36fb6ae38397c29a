// ObjectStorage on S3 or an S3-compatible server.
//
// - Uploads go through lib-storage: bodies up to one part (5 MiB) are sent as
//   one PutObject, larger ones as a multipart upload with at most
//   UPLOAD_QUEUE parts in flight, so memory per upload is bounded whatever the
//   file size. A failed upload is aborted so no parts linger.
// - Reads (get, head) and the readiness ping do not go through the SDK's
//   command stack: they are signed with the SDK's SigV4 signer and sent on
//   their own node:http pool (signed-get.ts), about a sixth of the CPU per call.
//   Writes, deletes and list go through the SDK client, which is loaded on
//   the first of them: an instance that only serves reads never loads it
//   (about 6 MiB of RSS).
// - One credentials provider serves both: static keys from the config, or
//   the SDK's default chain (environment, web identity, container and
//   instance roles), refreshed before they expire.
// - Every call has connection, response and socket-idle timeouts, and each
//   pool (the SDK's agents, the reads' pool) is bounded by S3_MAX_SOCKETS: a
//   slow or dead S3 turns into a prompt 503, never a request that hangs.
// - "Not found" is recognised in one place per path: isNotFound for the SDK's
//   calls, HTTP 404 for the signed reads.
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import type { S3Client } from '@aws-sdk/client-s3'
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types'
import type { S3Config } from '../config.js'
import { Sha256 } from './sha256.js'
import { createObjectReader, unavailable, type ReadObserver } from './signed-get.js'
import type { DeleteManyResult, ObjectInfo, ObjectStorage } from './storage.js'

const PART_SIZE = 5 * 1024 * 1024
// lib-storage's default: with four parts in flight S3 stays busy while the
// next one is filled from the client; each part in flight is 5 MiB of memory.
const UPLOAD_QUEUE = 4
const DELETE_BATCH = 1000

export interface S3Storage extends ObjectStorage {
  /** Sockets of the pool, for readiness details and leak tests. */
  socketStats (): { active: number, idle: number, queued: number }
}

export interface S3StorageOptions {
  /** Told of every signed read and ping (the S3 metrics). */
  observe?: ReadObserver
  /** Called once with the SDK client when the first write loads it (the S3 metrics). */
  onClient?: (client: S3Client) => void
}

export function createS3Storage (config: S3Config, { observe, onClient }: S3StorageOptions = {}): S3Storage {
  const agentOptions = { keepAlive: true, maxSockets: config.S3_MAX_SOCKETS }
  const httpAgent = new HttpAgent(agentOptions)
  const httpsAgent = new HttpsAgent(agentOptions)
  const credentials = credentialsOf(config)
  const Bucket = config.S3_BUCKET
  const reader = createObjectReader({ config, credentials, sha256: Sha256, observe })

  let loading: Promise<Sdk> | undefined
  let loaded: Sdk | undefined
  let destroyed = false
  const sdk = () => (loading ??= loadSdk().then((modules) => {
    const client = new modules.S3Client({
      region: config.S3_REGION,
      ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      credentials,
      // S3-compatible servers mishandle the SDK's default aws-chunked checksums.
      requestChecksumCalculation: config.S3_CHECKSUMS,
      responseChecksumValidation: config.S3_CHECKSUMS,
      maxAttempts: 2,
      requestHandler: new modules.NodeHttpHandler({
        httpAgent,
        httpsAgent,
        connectionTimeout: config.S3_CONNECT_TIMEOUT_MS,
        requestTimeout: config.S3_REQUEST_TIMEOUT_MS,
        throwOnRequestTimeout: true,
        socketTimeout: config.S3_SOCKET_TIMEOUT_MS
      })
    })
    // Destroyed while the SDK was loading: the client must not outlive it.
    if (destroyed) client.destroy()
    onClient?.(client)
    loaded = { ...modules, client }
    return loaded
  }))

  return {
    async put (key, body, { contentType, signal }) {
      const { client, Upload } = await sdk()
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
        // own error (too large, client gone) is what the caller must see. Not
        // the AbortError Node gives a stream whose reader stopped early:
        // that is lib-storage giving up after S3 failed.
        if (body.errored && !readerStopped(body.errored)) throw body.errored
        throw unavailable('upload', err)
      } finally {
        signal?.removeEventListener('abort', onAbort)
      }
    },

    get: reader.get,
    head: reader.head,

    async delete (key) {
      const { client, DeleteObjectCommand } = await sdk()
      try {
        await client.send(new DeleteObjectCommand({ Bucket, Key: key }))
      } catch (err) {
        if (isNotFound(err)) return
        throw unavailable('delete', err)
      }
    },

    async deleteMany (keys) {
      const { client, DeleteObjectsCommand } = await sdk()
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
      const { client, paginateListObjectsV2 } = await sdk()
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

    ping: reader.ping,

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
      destroyed = true
      reader.destroy()
      loaded?.client.destroy()
      httpAgent.destroy()
      httpsAgent.destroy()
    }
  }
}

function isNotFound (err: unknown): boolean {
  const e = err as { name?: string, Code?: string, $metadata?: { httpStatusCode?: number } }
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.Code === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404
}

/** The error node:stream destroys a Readable with when its async iterator is left before the end. */
function readerStopped (err: Error): boolean {
  return err.name === 'AbortError' && 'code' in err && err.code === 'ABORT_ERR'
}

type Sdk = Awaited<ReturnType<typeof loadSdk>> & { client: S3Client }

async function loadSdk () {
  const [s3, storage, http] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('@aws-sdk/lib-storage'),
    import('@smithy/node-http-handler')
  ])
  return {
    S3Client: s3.S3Client,
    DeleteObjectCommand: s3.DeleteObjectCommand,
    DeleteObjectsCommand: s3.DeleteObjectsCommand,
    paginateListObjectsV2: s3.paginateListObjectsV2,
    Upload: storage.Upload,
    NodeHttpHandler: http.NodeHttpHandler
  }
}

/** Static keys from the config, or the SDK's default chain, loaded on its first use. */
function credentialsOf (config: S3Config): AwsCredentialIdentityProvider {
  if (config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY) {
    const identity: AwsCredentialIdentity = { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY }
    return async () => identity
  }
  // defaultProvider memoizes, and refreshes credentials that are about to expire.
  let chain: Promise<AwsCredentialIdentityProvider> | undefined
  return async () => {
    chain ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider())
    return (await chain)()
  }
}
