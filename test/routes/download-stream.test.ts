// Streaming over real sockets, with a proxy in front of S3 that counts its
// requests and misbehaves on demand.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { get as httpGet, type IncomingHttpHeaders } from 'node:http'
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { build, id, listen, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { bucketClient } from '../support/bucket.js'
import { startS3Proxy } from '../support/s3-proxy.js'
import { waitUntil } from '../support/wait.js'

// 200 downloads cut off one after the other, and a 3 MiB object served a
// dozen times: over 2 minutes on a shared 2-core machine under load.
t.setTimeout(360_000)

const ctx = await setup(t)
const proxy = await startS3Proxy(() => ctx.s3.endpoint)
t.teardown(() => proxy.close())
// The default S3 timeouts: a short one would fire on a starved machine
// too, and turn good downloads into 503s. The test of the timeout has an
// app of its own.
const { app, logs } = await build(t, ctx, { S3_ENDPOINT: proxy.endpoint })
const base = await listen(app)

const dialogId = id('dlg')
const ownerId = id('owner')
const user = { authorization: `Bearer ${token({ sub: ownerId })}` }
const content = randomBytes(3 * 1024 * 1024)
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')
const big = await attach(app, dialogId, content, { ownerId, filename: 'big.bin' })
const url = (attachmentId = big.id) => `${base}/v1/attachments/${dialogId}/${attachmentId}`

interface Download { status: number, headers: IncomingHttpHeaders, body: Buffer, complete: boolean }

/** A GET that reports what arrived, also when the connection breaks. */
function download (target: string, headers: Record<string, string> = user, method = 'GET'): Promise<Download> {
  return new Promise((resolve, reject) => {
    const req = httpGet(target, { headers, method, agent: false }, (res) => {
      const chunks: Buffer[] = []
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete })
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', done)
      res.on('error', done)
      res.on('aborted', done)
    })
    req.on('error', reject)
  })
}

t.test('a download streams the exact bytes with one S3 request', async (t) => {
  proxy.reset()
  const res = await download(url())
  t.equal(res.status, 200)
  t.equal(res.headers['content-length'], String(content.length))
  t.equal(sha256(res.body), sha256(content))
  t.equal(proxy.objectGets(), 1)
})

t.test('304, HEAD, 401, 404, 412 and 416 never touch S3', async (t) => {
  proxy.reset()
  const cases: Array<[string, string, Record<string, string>, number, string?]> = [
    ['304', url(), { ...user, 'if-none-match': big.etag }, 304],
    ['HEAD', url(), user, 200, 'HEAD'],
    ['401', url(), {}, 401],
    ['404 unknown', url(randomUUID()), user, 404],
    ['404 no access', url(), { authorization: `Bearer ${token({ sub: 'stranger' })}` }, 404],
    ['412', url(), { ...user, 'if-match': '"other"' }, 412],
    ['416', url(), { ...user, range: 'bytes=99999999-' }, 416]
  ]
  for (const [name, target, headers, status, method] of cases) {
    t.equal((await download(target, headers, method)).status, status, name)
  }
  t.same(proxy.seen, [], 'S3 saw no request at all')
})

t.test('a header with hundreds of ranges costs one plain S3 request', async (t) => {
  proxy.reset()
  const range = `bytes=${Array.from({ length: 400 }, (_, i) => `${i * 10}-${i * 10 + 5}`).join(',')}`
  const res = await download(url(), { ...user, range })
  t.equal(res.status, 200)
  t.equal(res.body.length, content.length)
  t.equal(proxy.objectGets(), 1)
  t.equal(proxy.seen[0]?.range, undefined, 'no Range sent to S3')
})

t.test('a range asks S3 for exactly that range, in explicit first-last form', async (t) => {
  proxy.reset()
  const res = await download(url(), { ...user, range: 'bytes=-100' })
  t.equal(res.status, 206)
  t.ok(res.body.equals(content.subarray(content.length - 100)))
  t.same(proxy.seen.map((r) => r.range), [`bytes=${content.length - 100}-${content.length - 1}`])
})

t.test('200 clients hanging up mid-download leak no S3 socket', async (t) => {
  const baseline = app.storage.socketStats().active
  for (let i = 0; i < 200; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = httpGet(url(), { headers: user, agent: false }, (res) => {
        res.once('data', () => { req.destroy(); resolve() })
      })
      req.on('error', (err) => { if (!req.destroyed) reject(err) })
    })
  }
  // A destroyed socket leaves the pool a few ticks later; a leaked one never.
  await waitUntil(() => app.storage.socketStats().active <= baseline, 'the S3 sockets of the aborted downloads are released')
  t.ok(app.storage.socketStats().active <= baseline, 'S3 sockets back to their baseline')
  for (let i = 0; i < 5; i++) {
    const res = await download(url())
    t.equal(sha256(res.body), sha256(content), `download ${i + 1} after the aborts is whole`)
  }
})

t.test('an object missing from S3 for an existing row: the usual 404, logged as an error', async (t) => {
  const lost = await attach(app, dialogId, 'soon gone', { ownerId })
  const client = bucketClient(ctx.s3)
  await client.send(new DeleteObjectCommand({ Bucket: ctx.s3.bucket, Key: `attachments/${dialogId}/${lost.id}` }))
  client.destroy()
  const res = await download(url(lost.id))
  const reference = await download(url(randomUUID()))
  t.equal(res.status, 404)
  t.same(res.body, reference.body, 'the same body as any 404')
  const line = logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'the object of an existing attachment is missing')
  t.equal(line?.level, 50, 'logged at error level')
  t.equal(line?.attachmentId, lost.id)
})

t.test('S3 down: 503, and downloads work again when it is back (forced: S3 server killed)', async (t) => {
  await ctx.s3.stop()
  const res = await download(url())
  t.equal(res.status, 503)
  t.equal(JSON.parse(res.body.toString()).code, 'ATT_UNAVAILABLE')
  t.equal(res.headers['retry-after'], '5')
  await ctx.s3.start()
  t.equal((await download(url())).status, 200)
})

t.test('S3 not answering: 503 after the request timeout, not a hung request (forced: proxy hangs)', async (t) => {
  const impatient = await listen((await build(t, ctx, { S3_ENDPOINT: proxy.endpoint, S3_REQUEST_TIMEOUT_MS: '500', S3_CONNECT_TIMEOUT_MS: '500' })).app)
  proxy.mode = 'hang'
  try {
    const res = await download(url().replace(base, impatient))
    t.equal(res.status, 503)
  } finally {
    proxy.mode = 'pass'
  }
  t.equal((await download(url())).status, 200)
})

t.test('S3 failing mid-stream ends the response abruptly, never a clean short 200 (forced: proxy cuts)', async (t) => {
  proxy.mode = 'cut'
  proxy.cutAfterBytes = 1024 * 1024
  try {
    const res = await download(url())
    t.equal(res.status, 200, 'the headers had gone out')
    t.equal(res.headers['content-length'], String(content.length), 'promising the whole length')
    t.ok(res.body.length < content.length, `only ${res.body.length} bytes arrived`)
    t.equal(res.complete, false, 'the client can tell the response is incomplete')
  } finally {
    proxy.mode = 'pass'
  }
  t.equal(sha256((await download(url())).body), sha256(content), 'the next download is whole')
})

t.test('a small object whose S3 body fails midway: 503 with a JSON error, not a cut 200 (forced: proxy cuts)', async (t) => {
  // Bodies up to 64 KiB are read whole before the answer starts.
  const small = randomBytes(40 * 1024)
  const attached = await attach(app, dialogId, small, { ownerId, filename: 'small.bin' })
  proxy.mode = 'cut'
  proxy.cutAfterBytes = 10 * 1024
  try {
    const res = await download(url(attached.id))
    t.equal(res.status, 503)
    t.equal(JSON.parse(res.body.toString()).code, 'ATT_UNAVAILABLE')
    t.equal(res.complete, true, 'a whole error answer')
  } finally {
    proxy.mode = 'pass'
  }
  const whole = await download(url(attached.id))
  t.equal(whole.status, 200)
  t.equal(whole.headers['content-length'], String(small.length))
  t.equal(sha256(whole.body), sha256(small), 'the next download is whole')
})
