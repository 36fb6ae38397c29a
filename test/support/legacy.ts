// The main app's side of the backfill: legacy objects in the test bucket
// (outside S3_KEY_PREFIX, as the main app stored them) and the backfill CLI
// run as a real process.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { bucketClient } from './bucket.js'
import { runEntrypoint, type ProcessResult } from './process.js'
import type { TestS3 } from './s3-server.js'

export interface LegacyObject {
  key: string
  bytes: Buffer
  sha256: string
  /** Last-Modified as the bucket reports it (HEAD). */
  lastModified: Date
}

/** Stores bytes under key, as the main app did, and returns what S3 says about them. */
export async function putLegacyObject (s3: TestS3, key: string, bytes: Buffer): Promise<LegacyObject> {
  const client = bucketClient(s3)
  try {
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: bytes }))
    const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }))
    if (head.ContentLength !== bytes.length || !head.LastModified) throw new Error(`unexpected HEAD for ${key}`)
    return { key, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), lastModified: head.LastModified }
  } finally {
    client.destroy()
  }
}

/** The strong ETag an upload of bytes with this SHA-256 gets: the digest, base64url, quoted. */
export const etagOf = (sha256Hex: string): string => `"${Buffer.from(sha256Hex, 'hex').toString('base64url')}"`

export type CliResult = ProcessResult

/** Runs `npm run backfill -- ...args` as the operator would, with only env. */
export function runBackfillCli (args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  return runEntrypoint('src/cli/backfill.ts', args, env)
}

/** The lines of an NDJSON file, parsed; a line that is not JSON fails the parse. */
export async function readNdjson (path: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(path, 'utf8')
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>)
}
