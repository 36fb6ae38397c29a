// UploadMeter sits between the multipart file stream and storage: it must
// pass every byte unchanged, count and hash them, and fail the stream as soon
// as the file is one byte over the limit (never truncate it silently).
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import t from 'tap'
import { FileTooLargeError } from '../../src/errors.js'
import { UploadMeter } from '../../src/upload/meter.js'
import { randomChunks } from '../support/http.js'

/** Pipes chunks through a meter; resolves with what came out, or the error. */
async function meter (chunks: Buffer[] | AsyncIterable<Buffer>, limit: number) {
  const m = new UploadMeter(limit)
  const out: Buffer[] = []
  const error = await pipeline(Readable.from(chunks), m, async function (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) out.push(chunk)
  }).then(() => undefined, (err: unknown) => err)
  return { meter: m, output: Buffer.concat(out), error }
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

t.test('passes the bytes unchanged, counts them and hashes them', async (t) => {
  const input: Buffer[] = []
  for await (const chunk of randomChunks(3 * 1024 * 1024 + 17, 64 * 1024, 7)) input.push(chunk)
  const all = Buffer.concat(input)
  const { meter: m, output, error } = await meter(input, 10 * 1024 * 1024)
  t.equal(error, undefined)
  t.ok(output.equals(all), 'output is the input, byte for byte')
  t.equal(m.bytes, all.length)
  t.equal(m.sha256(), sha256(all), 'same SHA-256 as node:crypto')
})

t.test('an empty stream: 0 bytes and the SHA-256 of nothing', async (t) => {
  const { meter: m, output, error } = await meter([], 10)
  t.equal(error, undefined)
  t.equal(output.length, 0)
  t.equal(m.bytes, 0)
  t.equal(m.sha256(), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
})

t.test('exactly the limit passes, in one chunk or byte by byte', async (t) => {
  const data = Buffer.from('0123456789')
  for (const chunks of [[data], [...data].map((b) => Buffer.from([b]))]) {
    const { meter: m, output, error } = await meter(chunks, 10)
    t.equal(error, undefined, `${chunks.length} chunk(s): no error`)
    t.ok(output.equals(data), 'all bytes passed')
    t.equal(m.bytes, 10)
    t.equal(m.sha256(), sha256(data))
  }
})

t.test('one byte over the limit fails with FileTooLargeError (413, ATT_FILE_TOO_LARGE)', async (t) => {
  const data = Buffer.from('0123456789X')
  for (const chunks of [[data], [...data].map((b) => Buffer.from([b])), [data.subarray(0, 10), data.subarray(10)]]) {
    const { output, error } = await meter(chunks, 10)
    t.type(error, FileTooLargeError, `${chunks.length} chunk(s)`)
    t.match(error, { code: 'ATT_FILE_TOO_LARGE', statusCode: 413 })
    t.ok(output.length <= 10, 'nothing past the limit came out')
  }
})

t.test('a large stream fails as soon as it passes the limit, without reading the rest', async (t) => {
  let produced = 0
  async function * endless () {
    for (;;) {
      produced += 1024
      yield Buffer.alloc(1024)
    }
  }
  const { error, output } = await meter(endless(), 100 * 1024)
  t.type(error, FileTooLargeError)
  t.ok(output.length <= 100 * 1024, 'at most the limit came out')
  // Stream buffering reads somewhat ahead; an endless source proves it stopped.
  t.ok(produced < 10 * 100 * 1024, 'the source was not drained')
})
