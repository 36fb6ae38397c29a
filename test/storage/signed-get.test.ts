// The signed reads of createS3Storage (src/storage/signed-get.ts): that S3
// would accept their signatures, for every kind of key; that the bucket is
// addressed as the config says; and how they behave against an origin that
// misbehaves (a real HTTP server that stalls or is read slowly).
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import type { ConfigInput } from '../../src/config.js'
import type { S3Storage } from '../../src/storage/s3.js'
import { encodeKey, objectTarget, type ReadObserver } from '../../src/storage/signed-get.js'
import { ObjectNotFoundError, StorageUnavailableError } from '../../src/storage/storage.js'
import { createTestS3 } from '../helper.js'
import { testStorage } from '../support/bucket.js'
import { startSigV4Front } from '../support/sigv4-front.js'
import { waitUntil } from '../support/wait.js'

/** The most one socket read brings (libuv reads 64 KiB at a time). */
const SOCKET_READ = 64 * 1024

const s3 = await createTestS3(t)
// s3rver's account; the front checks signatures with this secret.
const front = await startSigV4Front(() => s3.endpoint, new Map([['S3RVER', 'S3RVER']]))
t.teardown(() => front.close())

function storageAt (t: Test, endpoint: string, overrides: ConfigInput = {}, observe?: ReadObserver): S3Storage {
  return testStorage(t, s3, { endpoint, overrides, storage: observe ? { observe } : {} })
}

async function text (body: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

const KEYS = [
  'signed/plain.txt',
  'signed/with space and+plus',
  'signed/ünïcödé/日本語 🎉',
  "signed/reserved !'()*&$@=;:,?#[]~%",
  'signed/percent%20literal',
  'signed/deep/a/b/c/-_.~'
]

t.test('get and head of keys with spaces, unicode and reserved characters carry a signature S3 accepts', async (t) => {
  const storage = storageAt(t, front.endpoint)
  for (const key of KEYS) {
    await storage.put(key, Readable.from([Buffer.from(`bytes of ${key}`)]), { contentType: 'text/plain' })
    const { body, contentLength } = await storage.get(key)
    t.equal(await text(body), `bytes of ${key}`, `get ${key}`)
    t.equal(contentLength, Buffer.byteLength(`bytes of ${key}`))
    t.equal((await storage.head(key))?.size, contentLength, `head ${key}`)
    const ranged = await storage.get(key, { range: { start: 0, end: 4 } })
    t.equal(await text(ranged.body), 'bytes', `range of ${key}`)
  }
  t.type(await storage.get('signed/never written').catch((e: unknown) => e), ObjectNotFoundError, 'a missing key is "not found", not a signature failure')
  t.same(front.refused, [], 'the front refused no request')
  t.ok(front.passed.some((r) => r.method === 'GET' && r.url.includes('%E6%97%A5')), 'the reads went through the front')
})

t.test('a wrong secret: the front refuses the signature, get and head reject with StorageUnavailableError naming SignatureDoesNotMatch', async (t) => {
  const good = storageAt(t, front.endpoint)
  await good.put('signed/secret', Readable.from([Buffer.from('x')]), { contentType: 'text/plain' })
  const before = front.refused.length
  const storage = storageAt(t, front.endpoint, { S3_SECRET_ACCESS_KEY: 'not-the-secret' })
  const err = await storage.get('signed/secret').catch((e: unknown) => e)
  t.type(err, StorageUnavailableError)
  t.match((err as Error).message, /403 SignatureDoesNotMatch/)
  t.type(await storage.head('signed/secret').catch((e: unknown) => e), StorageUnavailableError, 'head')
  t.equal(front.refused.length, before + 2, 'both were refused for their signature')
  t.match(front.refused.at(-1), /signature mismatch/)
})

t.test('every read is reported to the observer (the S3 metrics) with its operation and outcome', async (t) => {
  const seen: string[] = []
  const observe: ReadObserver = (operation) => (outcome) => { seen.push(`${operation} ${outcome}`) }
  const storage = storageAt(t, front.endpoint, {}, observe)
  await storage.put('signed/observed', Readable.from([Buffer.from('x')]), { contentType: 'text/plain' })
  await text((await storage.get('signed/observed')).body)
  await storage.get('signed/not-there').catch(() => {})
  await storage.head('signed/observed')
  await storage.head('signed/not-there')
  await storage.get('signed/observed', { signal: AbortSignal.abort() }).catch(() => {})
  const wrong = storageAt(t, front.endpoint, { S3_SECRET_ACCESS_KEY: 'not-the-secret' }, observe)
  await wrong.get('signed/observed').catch(() => {})
  t.same(seen, ['GetObject ok', 'GetObject not_found', 'HeadObject ok', 'HeadObject not_found', 'GetObject aborted', 'GetObject error'])
})

t.test('the bucket is addressed as the config says', async (t) => {
  const base = { S3_BUCKET: 'attachments', S3_REGION: 'eu-central-1', S3_FORCE_PATH_STYLE: false }
  t.same(objectTarget(base), { origin: 'https://attachments.s3.eu-central-1.amazonaws.com', basePath: '' }, 'AWS, virtual-hosted')
  t.same(objectTarget({ ...base, S3_FORCE_PATH_STYLE: true }), { origin: 'https://s3.eu-central-1.amazonaws.com', basePath: '/attachments' }, 'AWS, path style')
  t.same(objectTarget({ ...base, S3_BUCKET: 'with.dots' }), { origin: 'https://s3.eu-central-1.amazonaws.com', basePath: '/with.dots' }, 'a dotted bucket over https: path style')
  t.same(objectTarget({ ...base, S3_ENDPOINT: 'https://minio.internal:9000' }), { origin: 'https://attachments.minio.internal:9000', basePath: '' }, 'custom endpoint, virtual-hosted')
  t.same(objectTarget({ ...base, S3_ENDPOINT: 'http://10.0.0.5:9000/s3/' }), { origin: 'http://10.0.0.5:9000', basePath: '/s3/attachments' }, 'an IP address: path style, under the endpoint path')
  t.equal(encodeKey("a b/ü/!'()*~"), 'a%20b/%C3%BC/%21%27%28%29%2A~')
})

/** A bare HTTP origin that answers every GET with a large body, written with backpressure. */
async function startOrigin (t: Test, answer: (res: ServerResponse, state: OriginState) => void) {
  const sockets = new Set<Socket>()
  const state: OriginState = { sent: 0, blocked: false, requests: 0, connections: 0 }
  const server = createServer((req, res) => {
    state.requests++
    req.resume()
    answer(res, state)
  })
  server.on('connection', (socket) => {
    state.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state, sockets }
}
interface OriginState { sent: number, blocked: boolean, requests: number, connections: number }

const TOTAL = 256 * 1024 * 1024
function writeUntilBlocked (res: ServerResponse, state: OriginState, total = TOTAL) {
  res.writeHead(200, { 'content-length': String(total) })
  const chunk = Buffer.alloc(64 * 1024)
  const pump = () => {
    while (state.sent < total) {
      state.sent += chunk.length
      if (!res.write(chunk)) {
        state.blocked = true
        res.once('drain', () => { state.blocked = false; pump() })
        return
      }
    }
    res.end()
  }
  pump()
}

t.test('a body nobody reads: the origin is held back by TCP, the service buffers at most the stream\'s high-water mark', async (t) => {
  const origin = await startOrigin(t, writeUntilBlocked)
  const storage = storageAt(t, origin.endpoint)
  const { body, contentLength } = await storage.get('any')
  t.equal(contentLength, TOTAL)
  await waitUntil(() => origin.state.blocked, 'the origin cannot write any more')
  t.ok(origin.state.sent < TOTAL / 4, `the origin got rid of ${origin.state.sent} of ${TOTAL} bytes, no more than socket buffers hold`)
  // node:http stops reading once the buffer passes its high-water mark; the
  // last read (at most 64 KiB) is kept whole.
  const bound = body.readableHighWaterMark + SOCKET_READ
  t.ok(body.readableLength <= bound, `the body holds ${body.readableLength} bytes, at most ${bound}`)
  body.destroy()
  await waitUntil(() => origin.sockets.size === 0, 'the connection to the origin is closed')
  t.same(storage.socketStats(), { active: 0, idle: 0, queued: 0 }, 'a body destroyed half-way leaves no connection, busy or idle')
  t.equal(origin.state.connections, 1, 'no other connection was opened')
})

t.test('a body its reader holds back for longer than S3_SOCKET_TIMEOUT_MS is not idle: it arrives whole once read', async (t) => {
  const total = 8 * 1024 * 1024
  const origin = await startOrigin(t, (res, state) => writeUntilBlocked(res, state, total))
  const storage = storageAt(t, origin.endpoint, { S3_SOCKET_TIMEOUT_MS: '200' })
  const { body } = await storage.get('any')
  let failure: unknown
  body.once('error', (err) => { failure = err })
  await waitUntil(() => origin.state.blocked, 'the origin cannot write any more: nobody reads')
  // Five times the idle limit without reading: the service is the slow side.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.equal(failure, undefined, 'the body did not fail while its buffer was full')
  let received = 0
  for await (const chunk of body) received += (chunk as Buffer).length
  t.equal(received, total, 'every byte arrived')
})

t.test('aborting the signal mid-body fails the body and closes its connection', async (t) => {
  const origin = await startOrigin(t, writeUntilBlocked)
  const storage = storageAt(t, origin.endpoint)
  const controller = new AbortController()
  const { body } = await storage.get('any', { signal: controller.signal })
  await new Promise((resolve) => body.once('data', resolve))
  t.equal(storage.socketStats().active, 1, 'the read holds a connection')
  const failed = once(body, 'error').then(([err]) => err as Error, () => undefined)
  controller.abort()
  t.ok(await failed, 'the body fails')
  await waitUntil(() => storage.socketStats().active === 0 && origin.sockets.size === 0, 'the connection is closed')
  t.equal(storage.socketStats().active, 0)
})

t.test('aborting the signal while the origin has not answered rejects at once and closes the connection, without waiting for S3_REQUEST_TIMEOUT_MS', async (t) => {
  const origin = await startOrigin(t, () => {})
  // A request timeout far beyond the test's own limit: only the abort can end the read.
  const storage = storageAt(t, origin.endpoint, { S3_REQUEST_TIMEOUT_MS: '600000' })
  const controller = new AbortController()
  const read = storage.get('any', { signal: controller.signal }).catch((e: unknown) => e)
  await waitUntil(() => origin.state.requests === 1, 'the request reached the origin')
  controller.abort(new Error('client hung up'))
  t.type(await read, StorageUnavailableError, 'the read rejects')
  await waitUntil(() => storage.socketStats().active === 0 && origin.sockets.size === 0, 'the connection is closed')
})

t.test('aborting the signal while the read is being signed rejects at once, without waiting for S3_REQUEST_TIMEOUT_MS', async (t) => {
  const origin = await startOrigin(t, () => {})
  const storage = storageAt(t, origin.endpoint, { S3_REQUEST_TIMEOUT_MS: '600000' })
  const controller = new AbortController()
  // Signing awaits the credentials: the abort lands before the request exists.
  const read = storage.get('any', { signal: controller.signal }).catch((e: unknown) => e)
  controller.abort(new Error('client hung up'))
  t.type(await read, StorageUnavailableError, 'the read rejects')
  await waitUntil(() => storage.socketStats().active === 0 && origin.sockets.size === 0, 'no connection is left open')
})

t.test('a signal that outlives its read: aborting it later leaves the pooled connection to the next read', async (t) => {
  const origin = await startOrigin(t, (res) => res.end('abc'))
  const storage = storageAt(t, origin.endpoint)
  const controller = new AbortController()
  t.equal(await text((await storage.get('any', { signal: controller.signal })).body), 'abc')
  await waitUntil(() => storage.socketStats().idle === 1, 'the connection went back to the pool')
  controller.abort()
  t.equal(await text((await storage.get('any')).body), 'abc', 'the next read works')
  t.equal(origin.state.connections, 1, 'on the same connection')
})

t.test('an origin that accepts the request and never sends headers: get rejects with StorageUnavailableError (503) after S3_REQUEST_TIMEOUT_MS', async (t) => {
  const origin = await startOrigin(t, () => {})
  const storage = storageAt(t, origin.endpoint, { S3_REQUEST_TIMEOUT_MS: '300' })
  const err = await storage.get('any').catch((e: unknown) => e)
  t.type(err, StorageUnavailableError)
  t.match(err, { statusCode: 503, code: 'ATT_UNAVAILABLE' })
  t.equal(origin.state.requests, 1, 'the request reached the origin')
  await waitUntil(() => storage.socketStats().active === 0, 'the timed-out connection is closed')
})

t.test('an origin that sends headers, then stops sending the body: the body fails after S3_SOCKET_TIMEOUT_MS', async (t) => {
  const origin = await startOrigin(t, (res) => {
    res.writeHead(200, { 'content-length': '1000' })
    res.write(Buffer.alloc(10))
  })
  const storage = storageAt(t, origin.endpoint, { S3_SOCKET_TIMEOUT_MS: '300' })
  const { body } = await storage.get('any')
  const [err] = await once(body, 'error').catch((e: unknown) => [e])
  t.match(err, { code: 'S3_BODY_TIMEOUT' })
  await waitUntil(() => storage.socketStats().active === 0, 'the stalled connection is closed')
})

t.test('a connection the origin closes as the request arrives (a stale keep-alive): the read is sent once more and succeeds', async (t) => {
  const origin = await startOrigin(t, (res, state) => {
    if (state.requests === 1) res.socket?.destroy()
    else res.end('second try')
  })
  const storage = storageAt(t, origin.endpoint)
  t.equal(await text((await storage.get('any')).body), 'second try')
  t.equal(origin.state.requests, 2, 'two requests, on two connections')
  t.equal(origin.state.connections, 2)
})

t.test('a connection the origin closes on every try: get rejects with StorageUnavailableError after two tries', async (t) => {
  const origin = await startOrigin(t, (res) => res.socket?.destroy())
  const storage = storageAt(t, origin.endpoint)
  t.type(await storage.get('any').catch((e: unknown) => e), StorageUnavailableError)
  t.equal(origin.state.requests, 2)
})

t.test('a range the origin ignores (200 with the whole object) is refused, not sent as the range', async (t) => {
  const origin = await startOrigin(t, (res) => res.end('0123456789'))
  const storage = storageAt(t, origin.endpoint)
  t.type(await storage.get('any', { range: { start: 2, end: 4 } }).catch((e: unknown) => e), StorageUnavailableError)
})
