// The image pool is bounded: with its one slot taken and no queue, a preview
// request that would need a generation gets 503 + Retry-After at once, and
// originals download as usual. A request that waits longer than
// PREVIEW_WAIT_MS gets 503 too, and the generation it waited for still
// completes. The slot is held by construction: the generation is paused at
// its S3 read of the original.
import sharp from 'sharp'
import t from 'tap'
import { build, id, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { markerPixels } from '../support/images.js'
import { forgetPreviews, settledImage } from '../support/previews.js'
import { startS3Proxy } from '../support/s3-proxy.js'

t.setTimeout(300_000)

const ctx = await setup(t)
const proxy = await startS3Proxy(() => ctx.s3.endpoint)
t.teardown(() => proxy.close())
const { app } = await build(t, ctx, { S3_ENDPOINT: proxy.endpoint, PREVIEW_CONCURRENCY: '1', PREVIEW_QUEUE_MAX: '0', PREVIEW_WAIT_MS: '200' })
const dialogId = id('dlg')
const ownerId = id('owner')
const headers = { authorization: `Bearer ${token({ sub: ownerId })}` }

async function pendingImage (name: string) {
  const jpeg = await sharp(markerPixels(120, 90), { raw: { width: 120, height: 90, channels: 3 } }).jpeg().toBuffer()
  const staged = await attach(app, dialogId, jpeg, { ownerId, filename: name, contentType: 'image/jpeg' })
  await settledImage(app, dialogId, staged.id)
  await forgetPreviews(app, ctx.sql, staged.id)
  return staged
}

t.test('a full pool: 503 + Retry-After for previews, originals unaffected; a wait past PREVIEW_WAIT_MS is 503 and the generation completes', async (t) => {
  const first = await pendingImage('a.jpg')
  const second = await pendingImage('b.jpg')
  const hold = proxy.hold((request) => request.method === 'GET' && request.url.split('?', 1)[0]!.endsWith(`/${first.id}`))
  const waited = app.inject({ method: 'GET', url: `/v1/attachments/${dialogId}/${first.id}/preview/320`, headers })
  await hold.reached

  const busy = await app.inject({ method: 'GET', url: `/v1/attachments/${dialogId}/${second.id}/preview/320`, headers })
  t.equal(busy.statusCode, 503)
  t.equal(busy.json().code, 'ATT_PREVIEW_BUSY')
  t.ok(Number(busy.headers['retry-after']) > 0, 'with Retry-After')
  const original = await app.inject({ method: 'GET', url: `/v1/attachments/${dialogId}/${second.id}`, headers })
  t.equal(original.statusCode, 200, 'the original downloads while the pool is full')

  const late = await waited
  t.equal(late.statusCode, 503, 'the generation is still held after PREVIEW_WAIT_MS')
  t.equal(late.json().code, 'ATT_PREVIEW_PENDING')
  t.ok(Number(late.headers['retry-after']) > 0)
  hold.release()
  await t.resolves(settledImage(app, dialogId, first.id), 'the generation completes without its waiter')
  const ready = await app.inject({ method: 'GET', url: `/v1/attachments/${dialogId}/${first.id}/preview/320`, headers })
  t.equal(ready.statusCode, 200)
  t.equal(ready.headers['content-type'], 'image/webp')
})
