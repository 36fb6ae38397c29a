// Image facts in every answer, and the preview route: upright, private,
// negotiated, cached and refused like the original (real Postgres, Redis,
// S3-protocol server; S3 requests counted through a proxy).
import contentDisposition from 'content-disposition'
import sharp from 'sharp'
import t from 'tap'
import { auth, build, id, setup, token } from '../helper.js'
import { attach, stage } from '../support/attachments.js'
import { BLUE, bombPng, exiftoolRead, exiftoolWrite, GREEN, heifEnc, markerColours, markerPixels, near, RED, tempDir } from '../support/images.js'
import { imageOf, settledImage } from '../support/previews.js'
import { startS3Proxy } from '../support/s3-proxy.js'

t.setTimeout(600_000)

const ctx = await setup(t)
const proxy = await startS3Proxy(() => ctx.s3.endpoint)
t.teardown(() => proxy.close())
// Originals kept as uploaded, so the GPS block is in the original and the
// test shows that the preview alone drops it.
const { app } = await build(t, ctx, { S3_ENDPOINT: proxy.endpoint, ORIGINAL_METADATA: 'keep', AUDIT_FLUSH_MS: '60000' })
const dir = await tempDir(t)
const dialogId = id('dlg')
const ownerId = id('owner')
const user = { authorization: `Bearer ${token({ sub: ownerId })}` }
const [W, H] = [64, 48]

const preview = (attachmentId: string, size: number, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
  app.inject({ method, url: `/v1/attachments/${dialogId}/${attachmentId}/preview/${size}`, headers: { ...user, ...headers } })

async function uploadReady (data: Buffer, filename: string, contentType: string) {
  const staged = await attach(app, dialogId, data, { ownerId, filename, contentType })
  return { staged, image: await settledImage(app, dialogId, staged.id) }
}

t.test('every answer has `image`: facts from the header at upload, then placeholder and previews', async (t) => {
  const jpeg = await exiftoolWrite(dir, await sharp(markerPixels(W, H), { raw: { width: W, height: H, channels: 3 } }).jpeg().toBuffer(), 'jpg', ['-Orientation#=6'])
  const form = await stage(app, dialogId, jpeg, { ownerId, filename: 'turned.jpg', contentType: 'image/jpeg' }) as unknown as { id: string, image: Record<string, unknown> }
  t.match(form.image, { width: H, height: W, animated: false }, 'upload-stage answer: the displayed size, read while the file streamed')
  t.match(form.image.previews, { sizes: [320, 1280], urls: { 320: `/v1/attachments/${dialogId}/${form.id}/preview/320`, 1280: `/v1/attachments/${dialogId}/${form.id}/preview/1280` } })
  t.ok(['pending', 'ready'].includes((form.image.previews as { state: string }).state))

  const image = await settledImage(app, dialogId, form.id)
  t.equal(image.previews.state, 'ready')
  t.equal(image.previews.reason, null)
  t.type(image.placeholder, 'string', 'a ThumbHash placeholder')
  const link = await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments/link`, headers: auth(), payload: { messageId: 'm-facts', attachmentIds: [form.id] } })
  t.match(link.json().attachments[0].image, { width: H, height: W, previews: { state: 'ready' } }, 'link answer')
  const list = await app.inject({ method: 'GET', url: `/internal/v1/dialogs/${dialogId}/attachments?messageId=m-facts`, headers: auth() })
  t.match(list.json().attachments[0].image, { width: H, height: W, placeholder: image.placeholder }, 'list answer')

  const text = await attach(app, dialogId, 'just text', { ownerId, filename: 'a.txt', contentType: 'text/plain' })
  t.equal(await imageOf(app, dialogId, text.id), null, 'image: null for anything else')
  const res = await preview(text.id, 320)
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'ATT_NO_PREVIEW', 'the reader may read it, so it is told there is no preview')
})

t.test('each of the 8 EXIF orientations comes out upright (pixels checked), as WebP', async (t) => {
  const raw = markerPixels(W, H)
  for (let orientation = 1; orientation <= 8; orientation++) {
    const jpeg = await exiftoolWrite(dir, await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 95 }).toBuffer(), 'jpg', [`-Orientation#=${orientation}`])
    const { staged, image } = await uploadReady(jpeg, `o${orientation}.jpg`, 'image/jpeg')
    const swapped = orientation >= 5
    t.same([image.width, image.height], swapped ? [H, W] : [W, H], `orientation ${orientation}: displayed size`)
    const res = await preview(staged.id, 320)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-type'], 'image/webp')
    const decoded = await sharp(res.rawPayload).raw().toBuffer({ resolveWithObject: true })
    // Each marker of the stored picture must be where a viewer applying the orientation shows it.
    const colours = markerColours({ data: decoded.data, ...decoded.info }, orientation, W, H)
    t.ok(near(colours.red, RED) && near(colours.green, GREEN) && near(colours.blue, BLUE), `orientation ${orientation}: as displayed ${JSON.stringify(colours)}`)
  }
})

t.test('an iPhone-style HEVC HEIC gets a WebP preview any browser shows; the original still downloads as HEIC', async (t) => {
  const heic = await heifEnc(dir, markerPixels(W, H), W, H)
  const { staged, image } = await uploadReady(heic, 'IMG_0001.HEIC', 'image/heic')
  t.equal(staged.contentType, 'image/heic')
  t.match(image, { width: W, height: H, previews: { state: 'ready' } })
  const res = await preview(staged.id, 320)
  t.equal(res.headers['content-type'], 'image/webp')
  t.same(contentDisposition.parse(res.headers['content-disposition'] as string), { type: 'inline', parameters: { filename: 'IMG_0001.webp' } })
  const decoded = await sharp(res.rawPayload).raw().toBuffer({ resolveWithObject: true })
  const colours = markerColours({ data: decoded.data, ...decoded.info }, 1, W, H)
  t.ok(near(colours.red, RED) && near(colours.green, GREEN) && near(colours.blue, BLUE), `decoded right ${JSON.stringify(colours)}`)
  const original = await app.inject({ method: 'GET', url: `/v1/attachments/${dialogId}/${staged.id}`, headers: user })
  t.ok(original.rawPayload.equals(heic), 'the original bytes')
  t.match(original.headers['content-disposition'], /^attachment;/, 'as an attachment')
})

t.test('GPS and a camera serial are in the original and in no preview (read back with exiftool)', async (t) => {
  const jpeg = await exiftoolWrite(dir, await sharp(markerPixels(W, H), { raw: { width: W, height: H, channels: 3 } }).jpeg().toBuffer(), 'jpg',
    ['-GPSLatitude=48.8582', '-GPSLatitudeRef=N', '-GPSLongitude=2.2945', '-GPSLongitudeRef=E', '-SerialNumber=SN-4711-BODY', '-Make=Phone'])
  const { staged } = await uploadReady(jpeg, 'where.jpg', 'image/jpeg')
  const original = await app.inject({ method: 'GET', url: `/v1/attachments/${dialogId}/${staged.id}`, headers: user })
  const tags = await exiftoolRead(dir, original.rawPayload, 'jpg')
  t.ok(Object.keys(tags).some((tag) => tag.startsWith('GPS:')), 'the original has GPS')
  t.match(JSON.stringify(tags), /SN-4711-BODY/, 'and the serial')
  for (const [accept, extension] of [['image/webp', 'webp'], ['image/jpeg', 'jpg']] as const) {
    for (const size of [320, 1280]) {
      const res = await preview(staged.id, size, { accept })
      const out = await exiftoolRead(dir, res.rawPayload, extension)
      const found = Object.keys(out).filter((tag) => /^(GPS|EXIF|IFD0|XMP|IPTC|ExifIFD)/.test(tag))
      t.same(found, [], `${extension} ${size}: no EXIF/XMP/IPTC/GPS`)
      t.notMatch(JSON.stringify(out), /SN-4711-BODY/, `${extension} ${size}: no serial`)
    }
  }
})

t.test('an animated GIF gives an animated WebP with its frames', async (t) => {
  const colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
  const frames = Buffer.concat(colours.map((c) => Buffer.alloc(W * H * 3).fill(Buffer.from(c))))
  const gif = await sharp(frames, { raw: { width: W, height: H * 3, channels: 3, pageHeight: H } }).gif({ delay: [100, 100, 100], loop: 0 }).toBuffer()
  const { staged, image } = await uploadReady(gif, 'wave.gif', 'image/gif')
  t.equal(image.animated, true)
  const res = await preview(staged.id, 320)
  t.equal(res.headers['content-type'], 'image/webp')
  const meta = await sharp(res.rawPayload, { animated: true }).metadata()
  t.equal(meta.pages, 3, 'three frames')
  const second = await sharp(res.rawPayload, { page: 1 }).raw().toBuffer()
  t.ok(near([second[0]!, second[1]!, second[2]!], [0, 255, 0]), 'frame 2 is green')
})

t.test('a transparent PNG keeps its alpha in WebP and in the PNG fallback; Accept: image/jpeg gets JPEG for an opaque one', async (t) => {
  const rgba = Buffer.alloc(W * H * 4)
  for (let i = 0; i < W * H; i++) rgba.set(i % 2 === 0 ? [200, 10, 10, 255] : [0, 0, 0, 0], i * 4)
  const png = await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toBuffer()
  const { staged } = await uploadReady(png, 'cut-out.png', 'image/png')
  const webp = await preview(staged.id, 320)
  t.equal(webp.headers['content-type'], 'image/webp')
  t.equal(webp.headers.vary, 'Accept')
  const hasTransparentPixel = async (data: Buffer) => {
    const { data: pixels, info } = await sharp(data).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
    for (let i = info.channels - 1; i < pixels.length; i += info.channels) if (pixels[i]! < 255) return true
    return false
  }
  t.ok(await hasTransparentPixel(webp.rawPayload), 'the WebP is transparent where the PNG was')
  const fallback = await preview(staged.id, 320, { accept: 'image/jpeg, image/png;q=0.9' })
  t.equal(fallback.headers['content-type'], 'image/png', 'no WebP accepted, transparency: PNG')
  t.ok(await hasTransparentPixel(fallback.rawPayload), 'the PNG keeps the alpha')
  t.same(contentDisposition.parse(fallback.headers['content-disposition'] as string), { type: 'inline', parameters: { filename: 'cut-out.png' } })

  const opaque = await uploadReady(await sharp(markerPixels(W, H), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer(), 'Holiday photo.png', 'image/png')
  const jpeg = await preview(opaque.staged.id, 320, { accept: 'image/jpeg' })
  t.equal(jpeg.statusCode, 200)
  t.equal(jpeg.headers['content-type'], 'image/jpeg')
  t.equal(jpeg.rawPayload.readUInt16BE(0), 0xffd8, 'JPEG bytes')
  t.same(contentDisposition.parse(jpeg.headers['content-disposition'] as string), { type: 'inline', parameters: { filename: 'Holiday photo.jpg' } })
  t.not(jpeg.headers.etag, (await preview(opaque.staged.id, 320)).headers.etag, 'each format has its own entity tag')
})

t.test('a decompression bomb uploads, gets none/too_many_pixels; a truncated JPEG gets failed; both originals download', async (t) => {
  const bomb = await attach(app, dialogId, bombPng(50_000, 50_000), { ownerId, filename: 'bomb.png', contentType: 'image/png' })
  const bombImage = (bomb as unknown as { image: { previews: { state: string, reason: string } } }).image
  t.match(bombImage.previews, { state: 'none', reason: 'too_many_pixels', sizes: [] }, 'decided from the header in the upload answer')
  const refused = await preview(bomb.id, 320)
  t.equal(refused.statusCode, 404)
  t.equal(refused.json().code, 'ATT_NO_PREVIEW')

  const whole = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer()
  const cut = whole.subarray(0, Math.floor(whole.length / 2))
  const { staged, image } = await uploadReady(cut, 'cut.jpg', 'image/jpeg')
  t.match(image, { width: 400, height: 300, previews: { state: 'failed', reason: 'undecodable', sizes: [] } })
  t.equal((await preview(staged.id, 320)).json().code, 'ATT_NO_PREVIEW')
  const original = await app.inject({ method: 'GET', url: `/v1/attachments/${dialogId}/${staged.id}`, headers: user })
  t.equal(original.statusCode, 200, 'the original still downloads')
  t.ok(original.rawPayload.equals(cut))

  const headless = await stage(app, dialogId, whole.subarray(0, 100), { ownerId, filename: 'stub.jpg', contentType: 'image/jpeg' }) as unknown as { id: string, image: Record<string, unknown> }
  t.match(headless.image, { width: null, height: null }, 'a JPEG whose header gives no size uploads, without a size')
  t.match(await settledImage(app, dialogId, headless.id), { previews: { state: 'failed' } })
})

t.test('the OpenAPI document has `image` and the preview route', async (t) => {
  const doc = (await app.inject({ method: 'GET', url: '/internal/v1/openapi.json', headers: auth() })).json()
  t.ok(doc.paths['/v1/attachments/{dialogId}/{attachmentId}/preview/{size}']?.get, 'the preview route')
  const upload = doc.paths['/internal/v1/dialogs/{dialogId}/attachments'].post.responses['201'].content['application/json'].schema
  t.equal(upload.$ref, '#/components/schemas/Attachment', 'the upload answer is the shared Attachment schema')
  t.ok(JSON.stringify(doc.components.schemas.Attachment).includes('"placeholder"'), 'which documents image.placeholder')
})

t.test('validators, 304 and HEAD without S3, a single range, the audit, and the common 404', async (t) => {
  const { staged } = await uploadReady(await sharp(markerPixels(W, H), { raw: { width: W, height: H, channels: 3 } }).jpeg().toBuffer(), 'p.jpg', 'image/jpeg')
  const full = await preview(staged.id, 320)
  t.equal(full.statusCode, 200)
  t.match(full.headers.etag, /^"[A-Za-z0-9_-]{43}"$/, 'a strong entity tag of its own')
  t.not(full.headers.etag, staged.etag)
  t.type(full.headers['last-modified'], 'string')
  t.equal(full.headers['cache-control'], 'private, no-cache')
  t.equal(full.headers['x-content-type-options'], 'nosniff')

  proxy.reset()
  const notModified = await preview(staged.id, 320, { 'if-none-match': full.headers.etag as string })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.headers.vary, 'Accept')
  t.equal((await preview(staged.id, 320, { 'if-modified-since': full.headers['last-modified'] as string })).statusCode, 304)
  const head = await preview(staged.id, 320, {}, 'HEAD')
  t.equal(head.statusCode, 200)
  t.equal(head.headers['content-length'], String(full.rawPayload.length))
  t.equal(head.rawPayload.length, 0)
  t.same(proxy.seen, [], '304s and HEAD made no S3 request')

  const partial = await preview(staged.id, 320, { range: 'bytes=10-19' })
  t.equal(partial.statusCode, 206)
  t.equal(partial.headers['content-range'], `bytes 10-19/${full.rawPayload.length}`)
  t.ok(partial.rawPayload.equals(full.rawPayload.subarray(10, 20)))

  await app.audit!.flush()
  const [row] = await ctx.sql<Array<{ count: number }>>`SELECT count(*)::int AS count FROM attachment_access WHERE attachment_id = ${staged.id} AND variant = 'preview:320:webp' AND status IN (200, 206)`
  t.equal(row!.count, 2, 'the 200 and the 206 are in the read audit')

  const stranger = { authorization: `Bearer ${token({ sub: id('someone') })}` }
  const denied = await app.inject({ method: 'GET', url: `/v1/attachments/${dialogId}/${staged.id}/preview/320`, headers: stranger })
  const unknown = await app.inject({ method: 'GET', url: `/v1/attachments/${dialogId}/00000000-0000-4000-8000-000000000000/preview/320`, headers: stranger })
  t.equal(denied.statusCode, 404)
  t.same(denied.json(), unknown.json(), 'a denied reader gets the common 404, not ATT_NO_PREVIEW')
  t.equal((await app.inject({ method: 'GET', url: `/v1/attachments/${dialogId}/${staged.id}/preview/320` })).statusCode, 401)
  t.equal((await preview(staged.id, 321)).statusCode, 404, 'a size not in PREVIEW_SIZES')
})

t.test('the 320 preview of a 12 MP photo is at most 320 px on its long edge', async (t) => {
  const photo = await sharp({ create: { width: 4032, height: 3024, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 30 } } }).jpeg({ quality: 80 }).toBuffer()
  const { staged, image } = await uploadReady(photo, 'big.jpg', 'image/jpeg')
  t.same([image.width, image.height], [4032, 3024])
  const meta = await sharp((await preview(staged.id, 320)).rawPayload).metadata()
  t.same([meta.width, meta.height], [320, 240])
})
