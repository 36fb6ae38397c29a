// What every preview guarantees, checked on real files built here: upright
// for every EXIF orientation, no EXIF/XMP/IPTC/GPS left (read back with
// exiftool), sRGB, alpha kept, animation kept, the size box respected, and
// bombs, truncated and oversized files refused without a crash.
import { PassThrough, Readable } from 'node:stream'
import sharp from 'sharp'
import t, { type Test } from 'tap'
import { createImageEngine, type ImageEngineOptions } from '../../src/images/engine.js'
import type { GenerateOutcome, Preview } from '../../src/images/generate.js'
import { BLUE, bombPng, exiftoolRead, exiftoolWrite, GREEN, markerColours, markerPixels, near, RED, tempDir } from '../support/images.js'

t.setTimeout(300_000)

const OPTIONS: ImageEngineOptions = {
  sizes: [320, 1280],
  maxFrames: 100,
  maxPixels: 50_000_000,
  maxInputBytes: 30_000_000,
  concurrency: 2,
  queueMax: 50,
  timeoutMs: 120_000
}

function engineFor (t: Test, options: Partial<ImageEngineOptions> = {}) {
  const engine = createImageEngine({ ...OPTIONS, ...options })
  t.teardown(() => engine.close())
  return engine
}

function ready (t: Test, outcome: GenerateOutcome) {
  if (outcome.state !== 'ready') throw new Error(`expected a ready outcome, got ${JSON.stringify(outcome)}`)
  t.pass('ready')
  return outcome
}

async function pixels (preview: Preview) {
  const { data, info } = await sharp(preview.data).raw().toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: info.channels }
}

t.test('each of the 8 EXIF orientations of a JPEG comes out upright, in WebP and JPEG alike', async (t) => {
  const engine = engineFor(t)
  const dir = await tempDir(t)
  const [W, H] = [96, 64]
  const stored = await sharp(markerPixels(W, H), { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 95 }).toBuffer()
  for (let orientation = 1; orientation <= 8; orientation++) {
    const file = await exiftoolWrite(dir, stored, 'jpg', [`-Orientation#=${orientation}`])
    t.equal((await sharp(file).metadata()).orientation, orientation, `fixture carries orientation ${orientation}`)
    const outcome = ready(t, await engine.generate({
      source: Readable.from([file]),
      contentType: 'image/jpeg',
      variants: [{ size: 320, format: 'webp' }, { size: 320, format: 'jpeg' }]
    }))
    const rotated = orientation >= 5
    t.same([outcome.facts.width, outcome.facts.height], rotated ? [H, W] : [W, H], `${orientation}: displayed size`)
    for (const preview of outcome.previews) {
      t.same([preview.width, preview.height], rotated ? [H, W] : [W, H], `${orientation} ${preview.format}: not upscaled, turned`)
      const colours = markerColours(await pixels(preview), orientation, W, H)
      t.ok(near(colours.red, RED) && near(colours.green, GREEN) && near(colours.blue, BLUE),
        `${orientation} ${preview.format}: red top-left, green top-right, blue below (${JSON.stringify(colours)})`)
    }
  }
})

const METADATA_GROUPS = /^(IFD\d|ExifIFD|SubIFD\d*|GPS|InteropIFD|MakerNotes|XMP.*|IPTC|ICC.*|Photoshop)$/

/** Tags of metadata blocks, by exiftool's group ("GPS:GPSLatitude"); the file's own structure is not listed. */
function metadataTags (tags: Record<string, unknown>): string[] {
  return Object.keys(tags).filter((name) => METADATA_GROUPS.test(name.split(':')[0]!) || /serial|gps/i.test(name))
}

t.test('GPS, serial numbers, XMP and IPTC of the original reach no preview', async (t) => {
  const engine = engineFor(t)
  const dir = await tempDir(t)
  const plain = await sharp({ create: { width: 200, height: 150, channels: 3, background: '#808080' } }).jpeg().toBuffer()
  const original = await exiftoolWrite(dir, plain, 'jpg', [
    '-GPSLatitude=48.8584', '-GPSLatitudeRef=N', '-GPSLongitude=2.2945', '-GPSLongitudeRef=E',
    '-ExifIFD:SerialNumber=SN-4711-SECRET', '-LensSerialNumber=LENS-0815', '-Make=Phone', '-Orientation#=6',
    '-XMP-aux:SerialNumber=SN-4711-SECRET', '-IPTC:Keywords=private'
  ])
  const before = await exiftoolRead(dir, original, 'jpg')
  t.equal(before['GPS:GPSLatitude'], 48.8584, 'the original has a GPS position')
  t.equal(before['ExifIFD:SerialNumber'], 'SN-4711-SECRET', 'and a camera serial')
  t.equal(before['XMP-aux:SerialNumber'], 'SN-4711-SECRET', 'and XMP')
  t.equal(before['IPTC:Keywords'], 'private', 'and IPTC')
  t.equal(before['ExifIFD:LensSerialNumber'], 'LENS-0815', 'and a lens serial')
  t.ok(metadataTags(before).length >= 8, `the check below sees them in the original (${metadataTags(before).length} tags)`)

  const outcome = ready(t, await engine.generate({
    source: Readable.from([original]),
    contentType: 'image/jpeg',
    variants: [{ size: 320, format: 'webp' }, { size: 1280, format: 'jpeg' }, { size: 320, format: 'png' }]
  }))
  for (const preview of outcome.previews) {
    const tags = await exiftoolRead(dir, preview.data, preview.format === 'jpeg' ? 'jpg' : preview.format)
    const leaked = metadataTags(tags)
    t.same(leaked, [], `${preview.format}: no metadata tags (${leaked.join(', ')})`)
    t.notMatch(preview.data.toString('latin1'), /SN-4711|LENS-0815|private/, `${preview.format}: no trace of the values in the bytes`)
  }
})

t.test('colours are converted to sRGB from the embedded profile', async (t) => {
  const engine = engineFor(t)
  // A Display P3 JPEG of the sRGB colour (200, 100, 50): its stored values differ.
  const p3 = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 100, b: 50 } } })
    .withIccProfile('p3').jpeg({ quality: 100 }).toBuffer()
  const stored = await sharp(p3, { ignoreIcc: true }).raw().toBuffer()
  t.ok(Math.abs(stored[0]! - 200) + Math.abs(stored[1]! - 100) > 10, `the file stores P3 values (${stored[0]}, ${stored[1]}, ${stored[2]})`)
  const outcome = ready(t, await engine.generate({ source: Readable.from([p3]), contentType: 'image/jpeg', variants: [{ size: 320, format: 'png' }] }))
  const preview = outcome.previews[0]!
  const { data } = await pixels(preview)
  t.ok(near([data[0]!, data[1]!, data[2]!], [200, 100, 50], 4), `the preview shows the sRGB colour (${data[0]}, ${data[1]}, ${data[2]})`)
  t.equal((await sharp(preview.data).metadata()).hasProfile, false, 'untagged: browsers take it as sRGB')
})

t.test('a transparent PNG keeps its alpha in WebP and in the PNG fallback; an opaque one falls back to JPEG', async (t) => {
  const engine = engineFor(t)
  const rgba = Buffer.alloc(80 * 60 * 4)
  for (let i = 0; i < 80 * 60; i++) rgba.set(i % 80 < 40 ? [255, 0, 0, 255] : [0, 0, 255, 0], i * 4)
  const transparent = await sharp(rgba, { raw: { width: 80, height: 60, channels: 4 } }).png().toBuffer()
  const outcome = ready(t, await engine.generate({
    source: Readable.from([transparent]),
    contentType: 'image/png',
    variants: [{ size: 320, format: 'webp' }, { size: 320, format: 'fallback' }]
  }))
  t.equal(outcome.facts.hasAlpha, true)
  const [webp, fallback] = outcome.previews
  t.equal(fallback!.format, 'png', 'the fallback of a transparent image is PNG')
  t.equal(fallback!.contentType, 'image/png')
  for (const preview of [webp!, fallback!]) {
    const { data, channels, width } = await pixels(preview)
    t.equal(channels, 4, `${preview.format} has an alpha channel`)
    t.equal(data[3], 255, `${preview.format}: the left half stays opaque`)
    t.equal(data[(width - 1) * 4 + 3], 0, `${preview.format}: the right half stays transparent`)
  }

  const opaque = await sharp(Buffer.alloc(80 * 60 * 4, 255), { raw: { width: 80, height: 60, channels: 4 } }).png().toBuffer()
  const solid = ready(t, await engine.generate({ source: Readable.from([opaque]), contentType: 'image/png', variants: [{ size: 320, format: 'fallback' }] }))
  t.equal(solid.facts.hasAlpha, false, 'an alpha channel with every pixel opaque is no transparency')
  t.equal(solid.previews[0]!.format, 'jpeg', 'so the fallback is JPEG')
  t.equal(solid.previews[0]!.data.readUInt16BE(0), 0xffd8, 'and the bytes are JPEG')
})

t.test('an animated GIF gives an animated WebP with its frames; past PREVIEW_MAX_FRAMES the first frame', async (t) => {
  const [W, H] = [40, 30]
  const colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
  const frames = Buffer.concat(colours.map((c) => Buffer.alloc(W * H * 3).fill(Buffer.from(c))))
  const gif = await sharp(frames, { raw: { width: W, height: H * 3, channels: 3, pageHeight: H } })
    .gif({ delay: [100, 200, 300], loop: 0 }).toBuffer()
  t.equal((await sharp(gif).metadata()).pages, 3, 'fixture: a GIF of 3 frames')

  const engine = engineFor(t)
  const outcome = ready(t, await engine.generate({ source: Readable.from([gif]), contentType: 'image/gif', variants: [{ size: 320, format: 'webp' }, { size: 320, format: 'fallback' }] }))
  t.match(outcome.facts, { animated: true, frames: 3, width: W, height: H })
  const [webp, fallback] = outcome.previews
  const meta = await sharp(webp!.data, { animated: true }).metadata()
  t.equal(meta.format, 'webp')
  t.equal(meta.pages, 3, 'the WebP has the 3 frames')
  t.same(meta.delay, [100, 200, 300], 'with their delays')
  t.same([webp!.width, webp!.height], [W, H], 'the preview reports one frame\'s size')
  const second = await sharp(webp!.data, { page: 1 }).raw().toBuffer()
  t.ok(near([second[0]!, second[1]!, second[2]!], [0, 255, 0]), 'frame 2 is the green one')
  t.equal(fallback!.format, 'jpeg', 'the fallback is the first frame as JPEG')

  const capped = engineFor(t, { maxFrames: 2 })
  const still = ready(t, await capped.generate({ source: Readable.from([gif]), contentType: 'image/gif', variants: [{ size: 320, format: 'webp' }] }))
  t.equal(still.facts.animated, true, 'still reported as animated')
  t.equal((await sharp(still.previews[0]!.data, { animated: true }).metadata()).pages ?? 1, 1, 'more frames than PREVIEW_MAX_FRAMES: one frame')
})

t.test('the 320 preview of a 12 MP photo is at most 320 px on its long edge', async (t) => {
  const engine = engineFor(t)
  const photo = await sharp({ create: { width: 4032, height: 3024, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
    .jpeg({ quality: 80 }).toBuffer()
  const outcome = ready(t, await engine.generate({
    source: Readable.from([photo]),
    contentType: 'image/jpeg',
    byteLength: photo.length,
    variants: [{ size: 320, format: 'webp' }, { size: 1280, format: 'webp' }]
  }))
  t.same([outcome.facts.width, outcome.facts.height], [4032, 3024])
  const [small, large] = outcome.previews
  t.same([small!.width, small!.height], [320, 240])
  t.same([large!.width, large!.height], [1280, 960])
  const meta = await sharp(small!.data).metadata()
  t.ok(Math.max(meta.width, meta.height) <= 320, `decoded 320 preview is ${meta.width}x${meta.height}`)
  t.type(outcome.placeholder, 'string', 'a ThumbHash placeholder')
  t.ok(Buffer.from(outcome.placeholder!, 'base64').length <= 25, 'of ThumbHash size')
})

t.test('a decompression bomb is refused from its header: none/too_many_pixels, nothing decoded', async (t) => {
  const engine = engineFor(t)
  const bomb = bombPng(50_000, 50_000)
  t.ok(bomb.length < 200, `the bomb is ${bomb.length} bytes`)
  t.same(await engine.generate({ source: Readable.from([bomb]), contentType: 'image/png', variants: [{ size: 320, format: 'webp' }] }),
    { state: 'none', reason: 'too_many_pixels' })

  // The header alone decides: a stream that sends only the signature and
  // IHDR and then never ends cannot be decoded, yet the answer comes.
  const stalled = new PassThrough()
  stalled.write(bomb.subarray(0, 33))
  const outcome = await engine.generate({ source: stalled, contentType: 'image/png', variants: [{ size: 320, format: 'webp' }] })
  t.same(outcome, { state: 'none', reason: 'too_many_pixels' })
  t.equal(stalled.destroyed, true, 'the rest of the file is not read')
  t.same(engine.stats().running, 0)
})

t.test('a truncated JPEG fails as undecodable, without a crash; an empty or foreign file too', async (t) => {
  const engine = engineFor(t)
  const whole = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer()
  const variants = [{ size: 320, format: 'webp' as const }]
  t.same(await engine.generate({ source: Readable.from([whole.subarray(0, Math.floor(whole.length / 2))]), contentType: 'image/jpeg', variants }),
    { state: 'failed', reason: 'undecodable' }, 'half a JPEG')
  t.same(await engine.generate({ source: Readable.from([whole.subarray(0, 400)]), contentType: 'image/jpeg', variants }),
    { state: 'failed', reason: 'undecodable' }, 'a JPEG cut inside its header')
  t.same(await engine.generate({ source: Readable.from([Buffer.from('not an image at all')]), contentType: 'image/jpeg', variants }),
    { state: 'failed', reason: 'undecodable' }, 'text labelled as JPEG')
  t.same(await engine.generate({ source: Readable.from([Buffer.from('%PDF-1.7')]), contentType: 'application/pdf', variants }),
    { state: 'none', reason: 'unsupported_format' }, 'not an image type')
  const small = engineFor(t, { maxInputBytes: 1000 })
  t.same(await small.generate({ source: Readable.from([whole]), contentType: 'image/jpeg', variants }),
    { state: 'none', reason: 'too_large' }, 'more bytes than maxInputBytes')
  ready(t, await engine.generate({ source: Readable.from([whole]), contentType: 'image/jpeg', variants }))
})
