// The stripper as the upload flow will use it: chosen by the detected type,
// placed before UploadMeter so that size, SHA-256 and ETag are those of the
// stored bytes, failing the stream with a 422 the error handler answers as
// JSON, and switched by ORIGINAL_METADATA.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { FastifyError } from 'fastify'
import t from 'tap'
import { loadConfig } from '../../../src/config.js'
import { detectContentType, SNIFF_BYTES } from '../../../src/upload/content-type.js'
import { UploadMeter } from '../../../src/upload/meter.js'
import { peek } from '../../../src/upload/peek.js'
import { errorBody } from '../../../src/plugins/errors.js'
import { createLocationStripper, MetadataUnstrippableError, STRIPPED_TYPES } from '../../../src/upload/strip-location/index.js'
import { CAMERA_METADATA, FORMATS, chunked, picture, strip, tempDir, writeTags } from '../../support/metadata-images.js'

t.setTimeout(120_000)

async function drain (source: AsyncIterable<Buffer>): Promise<number> {
  let bytes = 0
  for await (const piece of source) bytes += piece.length
  return bytes
}

t.test('a stripper for each detected image type with metadata; none for the others', async (t) => {
  const dir = await tempDir(t)
  for (const format of FORMATS) {
    const data = await readFile(await picture(dir, format))
    const type = await detectContentType(data.subarray(0, SNIFF_BYTES))
    t.ok(createLocationStripper(type), `${format} is detected as ${type}, which is stripped`)
  }
  for (const type of ['image/gif', 'image/svg+xml', 'application/pdf', 'text/plain; charset=utf-8', 'application/octet-stream', 'video/mp4']) {
    t.equal(createLocationStripper(type), undefined, `${type}: none`)
  }
  t.ok(createLocationStripper('Image/JPEG; foo=bar'), 'parameters and case do not matter')
  t.same(STRIPPED_TYPES, ['image/jpeg', 'image/png', 'image/apng', 'image/webp', 'image/heic', 'image/heif', 'image/heic-sequence', 'image/heif-sequence', 'image/avif'])
})

t.test('between detection and the meter: size, SHA-256 and ETag are those of the stored bytes', async (t) => {
  const dir = await tempDir(t)
  const path = await picture(dir, 'jpeg')
  await writeTags(path, CAMERA_METADATA)
  const upload = await readFile(path)
  const expected = await strip(upload, 'image/jpeg')

  // As stageObject does it: peek, detect, then stream on.
  const { head, body } = await peek(Readable.from(chunked(upload, [1000])), SNIFF_BYTES)
  const stripper = createLocationStripper(await detectContentType(head))!
  const meter = new UploadMeter(upload.length)
  const stored: Buffer[] = []
  await pipeline(body, stripper, meter, async function (source: AsyncIterable<Buffer>) {
    for await (const piece of source) stored.push(piece)
  })
  const bytes = Buffer.concat(stored)
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  t.ok(bytes.equals(expected), 'the stored bytes are the stripped ones')
  t.equal(meter.bytes, bytes.length, 'size of the stored bytes')
  const digest = meter.sha256()
  t.equal(digest, sha256, 'SHA-256 (hence the ETag) of the stored bytes')
  t.not(digest, createHash('sha256').update(upload).digest('hex'), 'not of the upload')
  t.ok(stripper.removed > 0, `removed counts what went (${stripper.removed})`)
})

t.test('the size limit still applies to the stored bytes', async (t) => {
  const dir = await tempDir(t)
  const path = await picture(dir, 'png')
  await writeTags(path, CAMERA_METADATA)
  const upload = await readFile(path)
  const meter = new UploadMeter(upload.length - 1)
  const error = await pipeline(Readable.from([upload]), createLocationStripper('image/png')!, meter, drain).then(() => undefined, (err: unknown) => err)
  t.match(error, { code: 'ATT_FILE_TOO_LARGE', statusCode: 413 })
})

t.test('a refusal is a 422 with the JSON error body, and destroys the source', async (t) => {
  const png = Buffer.from('\x89PNG\r\n\x1a\n\x7f\xff\xff\xffeXIf', 'latin1')
  let destroyed = false
  const source = new Readable({ read () { this.push(png); this.push(Buffer.alloc(1024)) }, destroy (err, cb) { destroyed = true; cb(err) } })
  const error = await pipeline(source, createLocationStripper('image/png')!, drain).then(() => undefined, (err: unknown) => err)
  t.type(error, MetadataUnstrippableError)
  t.same(errorBody(error as FastifyError), {
    statusCode: 422,
    code: 'ATT_METADATA_UNSTRIPPABLE',
    error: 'Unprocessable Entity',
    message: 'The location metadata of this file could not be removed: a PNG metadata chunk is over 1048576 bytes'
  })
  t.ok(destroyed, 'the upload stream is released')
})

t.test('ORIGINAL_METADATA: strip-location by default, keep to turn it off, nothing else', async (t) => {
  const env = { DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://r', S3_BUCKET: 'bucket', S3_REGION: 'eu-central-1', JWT_SECRET: 'a-secret-of-at-least-thirty-two-chars!' }
  t.equal(loadConfig(env).ORIGINAL_METADATA, 'strip-location')
  t.equal(loadConfig({ ...env, ORIGINAL_METADATA: 'keep' }).ORIGINAL_METADATA, 'keep')
  t.throws(() => loadConfig({ ...env, ORIGINAL_METADATA: 'strip' }), { message: /ORIGINAL_METADATA must be one of: strip-location, keep/ })
})
