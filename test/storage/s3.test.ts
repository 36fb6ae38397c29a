// createS3Storage against a real S3-protocol server (s3rver in a child
// process): the shared conformance suite, then what is specific to S3 — the
// stored Content-Type, timeouts against a server that is down or silent, and
// the connection pool.
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import { Readable } from 'node:stream'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import t, { type Test } from 'tap'
import type { ConfigInput } from '../../src/config.js'
import type { S3Storage } from '../../src/storage/s3.js'
import { StorageUnavailableError } from '../../src/storage/storage.js'
import { createTestS3 } from '../helper.js'
import { bucketClient, listMultipartUploads, testStorage } from '../support/bucket.js'
import { randomChunks } from '../support/http.js'
import { waitUntil } from '../support/wait.js'
import { storageConformance } from './conformance.js'

const s3 = await createTestS3(t)
const MiB = 1024 * 1024

/** A storage over the file's S3 server; destroyed when t ends. */
function s3Storage (t: Test, overrides: ConfigInput = {}): S3Storage {
  return testStorage(t, s3, { overrides })
}

await storageConformance(t, 'S3 (s3rver)', async (t) => ({
  storage: s3Storage(t),
  unfinishedUploads: () => listMultipartUploads(s3),
  // SIGKILL: the server vanishes with its connections, as a crashed S3 would.
  async outage () {
    await s3.stop()
    return () => s3.start()
  }
}))

t.test('put stores the content type it was given', async (t) => {
  const storage = s3Storage(t)
  await storage.put('s3/typed', Readable.from([Buffer.from('%PDF-1.7')]), { contentType: 'application/pdf' })
  const client = bucketClient(s3)
  t.teardown(() => client.destroy())
  const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 's3/typed' }))
  t.equal(head.ContentType, 'application/pdf')
})

t.test('ping and get reject with StorageUnavailableError (503, ATT_UNAVAILABLE) while the S3 server is stopped', async (t) => {
  const storage = s3Storage(t)
  await storage.put('s3/while-stopped', Readable.from([Buffer.from('x')]), { contentType: 'text/plain' })
  await storage.ping()
  await s3.stop()
  try {
    for (const [name, call] of [['ping', () => storage.ping()], ['get', () => storage.get('s3/while-stopped')]] as const) {
      const err = await call().then(() => undefined, (e: unknown) => e)
      t.type(err, StorageUnavailableError, name)
      t.match(err, { statusCode: 503, code: 'ATT_UNAVAILABLE' }, `${name} answers 503`)
    }
  } finally {
    await s3.start()
  }
  // The pool held sockets to the killed server; the storage must recover on its own.
  await t.resolves(storage.ping(), 'ping resolves after the restart')
  t.equal((await storage.head('s3/while-stopped'))?.size, 1)
})

/** A real TCP server that reads and never replies: the case that hangs for ever without a request timeout (the SDK default). */
async function silentServer (t: Test): Promise<{ endpoint: string, sockets: Set<Socket> }> {
  const sockets = new Set<Socket>()
  const silent = createServer((socket) => {
    sockets.add(socket)
    socket.resume()
  })
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    silent.close()
  })
  const { port } = silent.address() as { port: number }
  return { endpoint: `http://127.0.0.1:${port}`, sockets }
}

t.test('an S3 endpoint that accepts connections but never answers: get, head and ping reject with StorageUnavailableError after the request timeout', async (t) => {
  const silent = await silentServer(t)
  const storage = s3Storage(t, { S3_ENDPOINT: silent.endpoint, S3_REQUEST_TIMEOUT_MS: '300' })
  for (const [name, call] of [['get', () => storage.get('any')], ['head', () => storage.head('any')], ['ping', () => storage.ping()]] as const) {
    const err = await call().then(() => undefined, (e: unknown) => e)
    t.type(err, StorageUnavailableError, name)
  }
  t.ok(silent.sockets.size > 0, 'the requests did reach the silent server')
})

t.test('an upload holds at most four 5 MiB parts and the read-ahead: against an S3 that never answers, a 64 MiB body is read no further', async (t) => {
  const silent = await silentServer(t)
  const storage = s3Storage(t, { S3_ENDPOINT: silent.endpoint, S3_REQUEST_TIMEOUT_MS: '300' })
  let read = 0
  async function * body () {
    for await (const chunk of randomChunks(64 * MiB)) {
      read += chunk.length
      yield chunk
    }
  }
  // The multipart upload is never created, so no part leaves: every part
  // taken from the body waits in memory until the put gives up.
  const err = await storage.put('s3/held', Readable.from(body()), { contentType: 'application/octet-stream' }).then(() => undefined, (e: unknown) => e)
  t.type(err, StorageUnavailableError, 'the put fails')
  t.ok(read > 5 * MiB, `a multipart upload was under way (${read} bytes read)`)
  // Four parts of 5 MiB, plus Readable.from's 16 chunks and one more.
  t.ok(read <= 4 * 5 * MiB + 17 * 64 * 1024 + 64 * 1024, `${read} bytes read of 64 MiB`)
})

t.test('sockets: a body read to the end goes back to the pool, a destroyed body releases its socket', async (t) => {
  const storage = s3Storage(t)
  const size = 4 * 1024 * 1024
  await storage.put('s3/pool', Readable.from(randomChunks(size)), { contentType: 'application/octet-stream' })
  // The put's socket stays idle in the SDK's pool; reads have their own pool.
  const afterPut = storage.socketStats()

  // Even downloads are abandoned before the first byte is read, odd ones half-way.
  for (let i = 0; i < 6; i++) {
    const { body } = await storage.get('s3/pool')
    if (i % 2 === 1) await new Promise((resolve, reject) => body.once('data', resolve).once('error', reject))
    t.equal(storage.socketStats().active, 1, `download ${i} holds a socket`)
    body.destroy()
    // A closed socket leaves the pool a few ticks after destroy(); a leaked one never does.
    await waitUntil(() => storage.socketStats().active === 0, `the socket of download ${i} is released`)
    t.equal(storage.socketStats().active, 0, `download ${i} released its socket`)
  }

  const { body } = await storage.get('s3/pool')
  let received = 0
  for await (const chunk of body) received += (chunk as Buffer).length
  t.equal(received, size)
  await waitUntil(() => storage.socketStats().active === 0 && storage.socketStats().idle === afterPut.idle + 1, 'the socket of the complete download goes back to the pool')
  t.same(storage.socketStats(), { active: 0, idle: afterPut.idle + 1, queued: 0 }, 'the socket of a complete download is kept alive for reuse')
})

t.test('reads and the readiness ping never load the SDK client; the first write loads it once', async (t) => {
  const clients: unknown[] = []
  const storage = testStorage(t, s3, { storage: { onClient: (client) => clients.push(client) } })
  await storage.ping()
  t.equal(await storage.head('s3/lazy-missing'), undefined)
  await t.rejects(storage.get('s3/lazy-missing'))
  t.equal(clients.length, 0, 'no SDK client after a ping, a head and a get')
  await Promise.all([
    storage.put('s3/lazy-1', Readable.from([Buffer.from('one')]), { contentType: 'text/plain' }),
    storage.put('s3/lazy-2', Readable.from([Buffer.from('two')]), { contentType: 'text/plain' })
  ])
  await storage.delete('s3/lazy-1')
  t.equal(clients.length, 1, 'one client, made by the first writes')
})

t.test('a bucket that does not exist: ping rejects with StorageUnavailableError', async (t) => {
  const storage = testStorage(t, s3, { overrides: { S3_BUCKET: 'no-such-bucket-here' } })
  const err = await storage.ping().then(() => undefined, (e: unknown) => e)
  t.type(err, StorageUnavailableError)
  t.match((err as Error).message, /404/)
})

t.test('without keys in the config, reads and writes sign with the SDK default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)', async (t) => {
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY }
  t.teardown(() => {
    for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  })
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER'
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER'
  const storage = testStorage(t, s3, { overrides: { S3_ACCESS_KEY_ID: '', S3_SECRET_ACCESS_KEY: '' } })
  await storage.put('s3/chain', Readable.from([Buffer.from('from the chain')]), { contentType: 'text/plain' })
  const { body } = await storage.get('s3/chain')
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  t.equal(Buffer.concat(chunks).toString(), 'from the chain')
  await storage.ping()
})
