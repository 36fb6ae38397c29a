// The ObjectStorage contract (src/storage/storage.ts) as one suite that every
// backend runs: a backend's *.test.ts calls storageConformance with a factory.
// Every subtest writes under its own fresh prefix, so the suite can share one
// bucket with other tests and needs no cleanup between subtests.
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Test } from 'tap'
import { ObjectNotFoundError, StorageUnavailableError, type ObjectStorage } from '../../src/storage/storage.js'
import { randomChunks } from '../support/http.js'

const MiB = 1024 * 1024
// Above S3's 5 MiB part size, so S3-like backends switch to a multipart upload.
const LARGE = 11 * MiB
// Past the parts S3 storage holds in flight (four of 5 MiB) and its read-ahead.
const STARTED_AFTER = 23 * MiB

export interface StorageUnderTest {
  storage: ObjectStorage
  /**
   * Keys of uploads started but neither completed nor aborted (S3:
   * ListMultipartUploads). It must show an upload while it runs, so the suite
   * can prove that a failed put had something to clean up.
   */
  unfinishedUploads (): Promise<string[]>
  /** Makes the backend unreachable for real; resolves with a function that brings it back. */
  outage (): Promise<() => Promise<void>>
}

/** Runs the whole contract as one subtest of t; make() is called once, its teardown is the caller's. */
export function storageConformance (t: Test, name: string, make: (t: Test) => Promise<StorageUnderTest>) {
  return t.test(`ObjectStorage conformance: ${name}`, async (t) => {
    const { storage, unfinishedUploads, outage } = await make(t)
    const fresh = (label: string) => `conformance/${randomBytes(6).toString('hex')}/${label}`

    for (const size of [0, 1, LARGE]) {
      t.test(`put then get returns the same ${size} bytes`, async (t) => {
        const key = fresh('round-trip')
        await storage.put(key, Readable.from(randomChunks(size)), { contentType: 'application/octet-stream' })
        const { body, contentLength } = await storage.get(key)
        t.equal(contentLength, size)
        t.same(await digest(body), await digest(Readable.from(randomChunks(size))))
        const info = await storage.head(key)
        t.equal(info?.key, key)
        t.equal(info?.size, size)
      })
    }

    t.test('get with a range returns exactly those bytes', async (t) => {
      const key = fresh('range')
      await storage.put(key, Readable.from(randomChunks(LARGE)), { contentType: 'application/octet-stream' })
      const all = await collect(Readable.from(randomChunks(LARGE)))
      // The first byte, the first bytes, a single byte, one crossing the 5 MiB part
      // boundary, the last bytes.
      const ranges = [{ start: 0, end: 0 }, { start: 0, end: 9 }, { start: 7, end: 7 }, { start: 5 * MiB - 10, end: 5 * MiB + 9 }, { start: LARGE - 10, end: LARGE - 1 }]
      for (const range of ranges) {
        const { body, contentLength } = await storage.get(key, { range })
        t.equal(contentLength, range.end - range.start + 1, `contentLength of ${range.start}-${range.end}`)
        t.ok((await collect(body)).equals(all.subarray(range.start, range.end + 1)), `bytes ${range.start}-${range.end}`)
      }
    })

    t.test('get of a missing key rejects with ObjectNotFoundError', async (t) => {
      const key = fresh('missing')
      const err = await caught(storage.get(key))
      t.type(err, ObjectNotFoundError)
      t.equal((err as ObjectNotFoundError).key, key)
      t.type(await caught(storage.get(key, { range: { start: 0, end: 9 } })), ObjectNotFoundError, 'with a range too')
    })

    t.test('head returns size and lastModified, and undefined for a missing key', async (t) => {
      const key = fresh('head')
      const before = Date.now()
      await storage.put(key, Readable.from([Buffer.from('hello')]), { contentType: 'text/plain' })
      const info = await storage.head(key)
      const after = Date.now()
      t.same(info && { key: info.key, size: info.size }, { key, size: 5 })
      t.type(info?.lastModified, Date)
      // Between the put and the head, however long they took. Backends keep
      // whole seconds, and a remote one's clock may be a little off.
      const skew = 60_000
      const lastModified = info!.lastModified.getTime()
      t.ok(lastModified >= Math.floor(before / 1000) * 1000 - skew && lastModified <= after + skew, 'lastModified is the time of the put')
      t.equal(await storage.head(fresh('never-written')), undefined)
    })

    t.test('delete removes the object and is idempotent', async (t) => {
      const key = fresh('delete')
      await storage.put(key, Readable.from([Buffer.from('x')]), { contentType: 'text/plain' })
      await storage.delete(key)
      t.equal(await storage.head(key), undefined, 'gone after delete')
      t.type(await caught(storage.get(key)), ObjectNotFoundError)
      await t.resolves(storage.delete(key), 'deleting it again succeeds')
      await t.resolves(storage.delete(fresh('never-written')), 'deleting a key never written succeeds')
    })

    t.test('deleteMany deletes existing keys and counts missing ones as deleted', async (t) => {
      const existing = [fresh('a'), fresh('b')]
      for (const key of existing) await storage.put(key, Readable.from([Buffer.from(key)]), { contentType: 'text/plain' })
      const missing = fresh('missing')
      const result = await storage.deleteMany([...existing, missing])
      t.same(result, { deleted: [...existing, missing], failed: [] })
      for (const key of existing) t.equal(await storage.head(key), undefined, `${key} is gone`)
      t.same(await storage.deleteMany([]), { deleted: [], failed: [] }, 'an empty list is a no-op')
    })

    t.test('deleteMany handles more keys than one batch (1001)', async (t) => {
      const keys = Array.from({ length: 1001 }, (_, i) => fresh(`many-${i}`))
      // The first and the last key exist: one in each batch of 1000.
      for (const key of [keys[0]!, keys[1000]!]) await storage.put(key, Readable.from([Buffer.from('x')]), { contentType: 'text/plain' })
      const result = await storage.deleteMany(keys)
      t.same(result.failed, [])
      t.same([...result.deleted].sort(), [...keys].sort())
      t.equal(await storage.head(keys[0]!), undefined)
      t.equal(await storage.head(keys[1000]!), undefined)
    })

    t.test('list yields every object under the prefix, across pages, and nothing else', async (t) => {
      const base = fresh('list')
      const inside = [`${base}/1`, `${base}/2`, `${base}/3`, `${base}/4`, `${base}/sub/5`]
      // Keys that share the prefix's characters but are not under "<base>/".
      const outside = [base, `${base}-other/1`, `${base}x/1`]
      for (const [i, key] of [...inside, ...outside].entries()) {
        await storage.put(key, Readable.from([Buffer.alloc(i + 1)]), { contentType: 'text/plain' })
      }
      const seen = await toArray(storage.list({ prefix: `${base}/`, pageSize: 2 }))
      t.same(seen.map((info) => [info.key, info.size]).sort(), inside.map((key, i) => [key, i + 1]))
      t.ok(seen.every((info) => info.lastModified instanceof Date && info.lastModified.getTime() > 0), 'every entry has lastModified')
      t.same(await toArray(storage.list({ prefix: fresh('empty/') })), [], 'an empty prefix yields nothing')
    })

    // 23 MiB: S3 storage sends at most four 5 MiB parts at once and reads a
    // fifth only when one of them is done, so by then the multipart upload
    // has certainly started (Readable.from reads ahead at most 16 chunks).
    for (const { label, failAfter, started } of [
      { label: 'before one part (1 MiB)', failAfter: MiB, started: false },
      { label: 'after a multipart upload started (23 MiB)', failAfter: STARTED_AFTER, started: true }
    ]) {
      t.test(`put whose body stream fails ${label} rejects with the body's error and leaves nothing`, async (t) => {
        const key = fresh('failing-body')
        const failure = new Error('the client went away')
        async function * body () {
          yield * randomChunks(failAfter)
          if (started) t.ok((await unfinishedUploads()).includes(key), 'an upload was in progress when the body failed')
          throw failure
        }
        t.equal(await caught(storage.put(key, Readable.from(body()), { contentType: 'application/octet-stream' })), failure)
        t.equal(await storage.head(key), undefined, 'no object')
        t.notOk((await unfinishedUploads()).includes(key), 'no unfinished upload')
      })
    }

    t.test('put aborted through its signal mid-upload rejects and leaves nothing', async (t) => {
      const key = fresh('aborted')
      const controller = new AbortController()
      async function * body () {
        yield * randomChunks(STARTED_AFTER)
        t.ok((await unfinishedUploads()).includes(key), 'an upload was in progress when it was aborted')
        controller.abort(new Error('client disconnected'))
        // A body that would go on for ever: only the abort can end the put.
        for (;;) yield Buffer.alloc(64 * 1024)
      }
      t.ok(await caught(storage.put(key, Readable.from(body()), { contentType: 'application/octet-stream', signal: controller.signal })), 'rejects')
      t.equal(await storage.head(key), undefined, 'no object')
      t.notOk((await unfinishedUploads()).includes(key), 'no unfinished upload')
    })

    t.test('calls with an already aborted signal reject', async (t) => {
      const key = fresh('signal')
      await storage.put(key, Readable.from([Buffer.from('x')]), { contentType: 'text/plain' })
      const signal = AbortSignal.abort()
      t.ok(await caught(storage.get(key, { signal })), 'get')
      t.ok(await caught(storage.head(key, { signal })), 'head')
      t.ok(await caught(storage.ping({ signal })), 'ping')
      t.ok(await caught(toArray(storage.list({ prefix: key, signal }))), 'list')
    })

    t.test('ping resolves', (t) => t.resolves(storage.ping()))

    t.test('get bodies destroyed unread or half-way do not break later calls', async (t) => {
      const key = fresh('half-read')
      await storage.put(key, Readable.from(randomChunks(4 * MiB)), { contentType: 'application/octet-stream' })
      // More abandoned downloads than a small connection pool has slots. Unread
      // (the client left before the first byte) and half-read bodies leak
      // differently, so both kinds are abandoned.
      for (let i = 0; i < 12; i++) {
        const { body } = await storage.get(key)
        if (i % 2 === 1) {
          const first = await new Promise<Buffer>((resolve, reject) => body.once('data', resolve).once('error', reject))
          t.ok(first.length > 0 && first.length < 4 * MiB, `download ${i} stopped half-way`)
        }
        body.destroy()
      }
      const { body, contentLength } = await storage.get(key)
      t.equal(contentLength, 4 * MiB)
      t.same(await digest(body), await digest(Readable.from(randomChunks(4 * MiB))), 'a full get still works')
      t.equal((await storage.head(key))?.size, 4 * MiB, 'head still works')
    })

    t.test('while the backend is down, every call fails as StorageUnavailableError, never as "missing"', async (t) => {
      const key = fresh('outage')
      await storage.put(key, Readable.from([Buffer.from('kept')]), { contentType: 'text/plain' })
      const restore = await outage()
      try {
        t.type(await caught(storage.ping()), StorageUnavailableError, 'ping')
        t.type(await caught(storage.get(key)), StorageUnavailableError, 'get')
        // undefined would tell a cleanup job the object is gone.
        t.type(await caught(storage.head(key)), StorageUnavailableError, 'head')
        t.type(await caught(storage.delete(key)), StorageUnavailableError, 'delete')
        t.type(await caught(toArray(storage.list({ prefix: key }))), StorageUnavailableError, 'list')
        t.type(await caught(storage.put(fresh('during-outage'), Readable.from([Buffer.from('x')]), { contentType: 'text/plain' })), StorageUnavailableError, 'put')
        const other = fresh('other')
        const result = await storage.deleteMany([key, other])
        t.same(result.deleted, [], 'deleteMany deletes nothing')
        t.same(result.failed.map((f) => f.key), [key, other], 'deleteMany reports every key')
        t.ok(result.failed.length === 2 && result.failed.every((f) => f.code !== '' && f.message !== ''), 'with a code and a message')
      } finally {
        await restore()
      }
      await t.resolves(storage.ping(), 'ping resolves once the backend is back')
      t.equal(await collectText(await storage.get(key)), 'kept', 'the object survived the failed calls')
    })
  })
}

/** The rejection reason, or undefined when the promise resolved. */
async function caught (promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (err: unknown) => err)
}

async function toArray<T> (items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = []
  for await (const item of items) all.push(item)
  return all
}

async function digest (stream: Readable): Promise<{ sha256: string, size: number }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of stream) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { sha256: hash.digest('hex'), size }
}

async function collect (stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function collectText ({ body }: { body: Readable }): Promise<string> {
  return (await collect(body)).toString('utf8')
}
