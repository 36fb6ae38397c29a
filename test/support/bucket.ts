// Looks into the test bucket directly, to prove what a request left behind.
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { createHash } from 'node:crypto'
import { utimes } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import type { Sql } from 'postgres'
import type { Test } from 'tap'
import { loadConfig, S3_SETTINGS, type ConfigInput } from '../../src/config.js'
import { createS3Storage, type S3Storage, type S3StorageOptions } from '../../src/storage/s3.js'
import type { TestS3 } from './s3-server.js'

/**
 * createS3Storage over a test S3 server (or a front of it at `endpoint`),
 * through the real config loader; destroyed when t ends.
 */
export function testStorage (t: Test, s3: TestS3, options: { endpoint?: string, overrides?: ConfigInput, storage?: S3StorageOptions } = {}): S3Storage {
  const config = loadConfig({
    S3_BUCKET: s3.bucket,
    S3_REGION: 'us-east-1',
    S3_ENDPOINT: options.endpoint ?? s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_CHECKSUMS: 'WHEN_REQUIRED',
    // Loopback connects at once, unless this process is starved; a stopped
    // server refuses at once. So a long limit costs nothing and never fires.
    S3_CONNECT_TIMEOUT_MS: '10000',
    S3_REQUEST_TIMEOUT_MS: '10000',
    S3_SOCKET_TIMEOUT_MS: '10000',
    // A small pool, so a leaked socket soon stalls every later call.
    S3_MAX_SOCKETS: '4',
    ...options.overrides
  }, S3_SETTINGS)
  const storage = createS3Storage(config, options.storage)
  t.teardown(() => storage.destroy())
  return storage
}

export function bucketClient (s3: TestS3): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
}

export async function listKeys (s3: TestS3, prefix = ''): Promise<string[]> {
  const client = bucketClient(s3)
  try {
    const res = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))
    return (res.Contents ?? []).map((object) => object.Key!).sort()
  } finally {
    client.destroy()
  }
}

export async function listMultipartUploads (s3: TestS3): Promise<string[]> {
  const client = bucketClient(s3)
  try {
    const res = await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }))
    return (res.Uploads ?? []).map((upload) => upload.Key!)
  } finally {
    client.destroy()
  }
}

/** SHA-256 (hex) and size of a stored object, streamed. */
export async function objectDigest (s3: TestS3, key: string): Promise<{ sha256: string, size: number }> {
  const client = bucketClient(s3)
  try {
    const res = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))
    const hash = createHash('sha256')
    let size = 0
    for await (const chunk of res.Body as Readable) {
      hash.update(chunk as Buffer)
      size += (chunk as Buffer).length
    }
    return { sha256: hash.digest('hex'), size }
  } finally {
    client.destroy()
  }
}

/** Stores an object directly, as a crashed upload or a legacy system would leave it. */
export async function putObject (s3: TestS3, key: string, body: Buffer | string): Promise<void> {
  const client = bucketClient(s3)
  try {
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }))
  } finally {
    client.destroy()
  }
}

/**
 * Makes an object look `ageMs` old: the test server reports the data file's
 * modification time as LastModified, so this is what an old object is.
 */
export async function ageObject (s3: TestS3, key: string, ageMs: number): Promise<void> {
  const when = new Date(Date.now() - ageMs)
  await utimes(join(s3.directory, s3.bucket, `${key}._S3rver_object`), when, when)
}

/** What a refused or failed upload into a dialog must not leave: a row, an object, a multipart upload. */
export async function assertNothingLeft (t: Test, ctx: { sql: Sql, s3: TestS3 }, dialogId: string): Promise<void> {
  const [row] = await ctx.sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM chat_attachment WHERE dialog_id = ${dialogId}`
  t.equal(row!.n, 0, 'no row')
  t.same(await listKeys(ctx.s3, `attachments/${dialogId}/`), [], 'no object')
  t.same((await listMultipartUploads(ctx.s3)).filter((key) => key.includes(dialogId)), [], 'no unfinished multipart upload')
}
