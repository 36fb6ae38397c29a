// Small bodies kept with their cached rows (src/db/row-cache.ts), over real
// sockets, with a proxy in front of S3 that counts its requests. Every
// "after the change" waits for the cache's own heartbeat sent after the
// change: notifications arrive in commit order, so by then it was handled.
import { randomBytes } from 'node:crypto'
import sharp from 'sharp'
import t from 'tap'
import { auth, build, id, listen, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { send } from '../support/http.js'
import { markerPixels } from '../support/images.js'
import { settledImage } from '../support/previews.js'
import { startS3Proxy } from '../support/s3-proxy.js'

t.setTimeout(120_000)
const ctx = await setup(t)
const proxy = await startS3Proxy(() => ctx.s3.endpoint)
t.teardown(() => proxy.close())
const BODY = 1000
// A staleness bound no stall of a busy machine reaches: what is tested here
// is what is kept; the bound has its own tests (row-cache.test.ts).
const settings = { S3_ENDPOINT: proxy.endpoint, ROW_CACHE_MAX_STALENESS_MS: '60000' }
const a = await build(t, ctx, { ...settings, BODY_CACHE_MAX_BYTES: String(3 * BODY) })
const b = await build(t, ctx, settings)
const [baseA, baseB] = await Promise.all([listen(a.app), listen(b.app)])
const cacheA = a.app.rowCache!
const cacheB = b.app.rowCache!
const ownerId = id('o')
const reader = { authorization: `Bearer ${token({ sub: ownerId })}` }

async function file (app = a.app, size = BODY) {
  const dialogId = id('d')
  const content = randomBytes(size)
  const attached = await attach(app, dialogId, content, { ownerId })
  return { ...attached, content, path: `/v1/attachments/${dialogId}/${attached.id}` }
}
/** Gets (requests for object bytes) that reached S3 while fn ran. */
async function s3Gets (fn: () => Promise<unknown>): Promise<number> {
  const before = proxy.objectGets()
  await fn()
  return proxy.objectGets() - before
}
const keyOf = (cache: typeof cacheA, fileId: string) => cache.get(fileId)!.storageKey
const kept = (cache: typeof cacheA, fileId: string) => cache.body(fileId, keyOf(cache, fileId))

t.test('a small image read again is answered from memory: same bytes, ranges cut from it, one S3 request', async (t) => {
  const f = await file()
  await cacheA.synced()
  const gets = await s3Gets(async () => {
    const first = await send(`${baseA}${f.path}`, { headers: reader })
    t.equal(first.status, 200)
    t.same(first.body, f.content, 'the bytes, from S3')
    const again = await send(`${baseA}${f.path}`, { headers: reader })
    t.equal(again.status, 200)
    t.same(again.body, f.content, 'the same bytes')
    t.equal(again.headers['content-length'], String(BODY))
    t.equal(again.headers.etag, first.headers.etag)
    const part = await send(`${baseA}${f.path}`, { headers: { ...reader, range: 'bytes=10-19' } })
    t.equal(part.status, 206)
    t.equal(part.headers['content-range'], `bytes 10-19/${BODY}`)
    t.same(part.body, f.content.subarray(10, 20), 'the range')
  })
  t.equal(gets, 1, 'S3 was asked once')
  t.same(kept(cacheA, f.id), f.content)
})

t.test('the access check still runs on every read: another user gets the common 404', async (t) => {
  const f = await file()
  await cacheA.synced()
  t.equal((await send(`${baseA}${f.path}`, { headers: reader })).status, 200)
  t.ok(kept(cacheA, f.id), 'kept')
  const stranger = { authorization: `Bearer ${token({ sub: id('someone') })}` }
  const denied = await send(`${baseA}${f.path}`, { headers: stranger })
  t.equal(denied.status, 404)
  t.equal(JSON.parse(String(denied.body)).code, 'ATT_NOT_FOUND')
  t.equal((await send(`${baseA}${f.path}`)).status, 401, 'and without a token: 401')
})

t.test('deleted through the other instance: the kept bytes go with the row', async (t) => {
  const f = await file()
  await cacheA.synced()
  t.equal((await send(`${baseA}${f.path}`, { headers: reader })).status, 200)
  const key = keyOf(cacheA, f.id)
  t.ok(cacheA.body(f.id, key), 'kept')
  const bytesBefore = cacheA.bodyBytes
  const res = await send(`${baseB}/internal/v1/dialogs/${f.dialogId}/attachments/${f.id}`, { method: 'DELETE', headers: auth() })
  t.equal(res.status, 204)
  await cacheA.synced()
  t.equal(cacheA.body(f.id, key), undefined, 'gone from memory')
  t.equal(cacheA.bodyBytes, bytesBefore - BODY, 'and from the count')
  t.equal((await send(`${baseA}${f.path}`, { headers: reader })).status, 404)
})

t.test(`at most BODY_CACHE_MAX_BYTES (${3 * BODY}) kept: the least recently served goes first`, async (t) => {
  const files = [await file(), await file(), await file(), await file()]
  await cacheA.synced()
  const read = async (i: number) => t.equal((await send(`${baseA}${files[i]!.path}`, { headers: reader })).status, 200)
  await read(0)
  await read(1)
  await read(2)
  await read(0) // now the most recent
  await read(3)
  t.ok(kept(cacheA, files[0]!.id), 'served again before the fourth: kept')
  t.equal(kept(cacheA, files[1]!.id), undefined, 'least recently served: out')
  t.ok(kept(cacheA, files[2]!.id), 'kept')
  t.ok(kept(cacheA, files[3]!.id), 'kept')
  t.equal(cacheA.bodyBytes, 3 * BODY, 'within the bound')
  t.ok(cacheA.get(files[1]!.id), 'the row itself stays cached')
})

t.test('a ready preview is kept as well: read twice, one S3 request for its object', async (t) => {
  const dialogId = id('d')
  const jpeg = await sharp(markerPixels(200, 150), { raw: { width: 200, height: 150, channels: 3 } }).jpeg().toBuffer()
  const photo = await attach(b.app, dialogId, jpeg, { ownerId, filename: 'p.jpg', contentType: 'image/jpeg' })
  t.equal((await settledImage(b.app, dialogId, photo.id)).previews.state, 'ready')
  await cacheB.synced()
  const url = `${baseB}/v1/attachments/${dialogId}/${photo.id}/preview/320`
  const previewGets = () => proxy.seen.filter((request) => request.method === 'GET' && request.url.includes('.preview-')).length
  const before = previewGets()
  const first = await send(url, { headers: reader })
  const again = await send(url, { headers: reader })
  t.equal(first.status, 200)
  t.equal(again.status, 200)
  t.ok(first.body.length > 0 && first.body.length <= 64 * 1024, `a small preview (${first.body.length} bytes)`)
  t.same(again.body, first.body, 'the same bytes')
  t.equal(again.headers.etag, first.headers.etag)
  t.equal(previewGets() - before, 1, 'its object was read from S3 once')
})

t.test('bodies over 64 KiB are streamed, never kept', async (t) => {
  const f = await file(b.app, 64 * 1024 + 1)
  await cacheB.synced()
  const gets = await s3Gets(async () => {
    for (let i = 0; i < 2; i++) {
      const res = await send(`${baseB}${f.path}`, { headers: reader })
      t.equal(res.status, 200)
      t.same(res.body, f.content)
    }
  })
  t.equal(gets, 2, 'S3 asked each time')
  t.equal(kept(cacheB, f.id), undefined)
})

t.test('a read that began before its row changed keeps nothing (held at S3 by construction)', async (t) => {
  const f = await file()
  await cacheA.synced()
  t.equal((await send(`${baseA}${f.path}`, { method: 'HEAD', headers: reader })).status, 200, 'the row is cached (HEAD reads no bytes)')
  const hold = proxy.hold((request) => request.method === 'GET' && request.url.includes(f.id))
  const reading = send(`${baseA}${f.path}`, { headers: reader })
  await hold.reached
  await ctx.sql`UPDATE chat_attachment SET file_name = 'renamed.bin' WHERE id = ${f.id}`
  await cacheA.synced()
  // The changed row is read and cached again before the held read ends.
  t.equal((await send(`${baseA}${f.path}`, { method: 'HEAD', headers: reader })).status, 200)
  hold.release()
  const res = await reading
  t.equal(res.status, 200, 'the read that began before is answered')
  t.same(res.body, f.content)
  t.equal(kept(cacheA, f.id), undefined, 'but its bytes are not kept with the new row')
})

t.test('S3 failing: a kept body is still answered, one not kept gets 503 (forced: proxy cuts)', async (t) => {
  const [keptFile, other] = [await file(b.app), await file(b.app)]
  await cacheB.synced()
  t.equal((await send(`${baseB}${keptFile.path}`, { headers: reader })).status, 200)
  proxy.mode = 'cut'
  proxy.cutAfterBytes = 10
  try {
    const fromMemory = await send(`${baseB}${keptFile.path}`, { headers: reader })
    t.equal(fromMemory.status, 200)
    t.same(fromMemory.body, keptFile.content)
    const failed = await send(`${baseB}${other.path}`, { headers: reader })
    t.equal(failed.status, 503)
    t.equal(JSON.parse(String(failed.body)).code, 'ATT_UNAVAILABLE')
  } finally {
    proxy.mode = 'pass'
  }
})

t.test('BODY_CACHE_MAX_BYTES=0 keeps none', async (t) => {
  const c = await build(t, ctx, { ...settings, BODY_CACHE_MAX_BYTES: '0' })
  const base = await listen(c.app)
  const f = await file(c.app)
  await c.app.rowCache!.synced()
  const gets = await s3Gets(async () => {
    for (let i = 0; i < 2; i++) t.equal((await send(`${base}${f.path}`, { headers: reader })).status, 200)
  })
  t.equal(gets, 2, 'S3 asked each time')
  t.equal(c.app.rowCache!.bodyBytes, 0)
})
