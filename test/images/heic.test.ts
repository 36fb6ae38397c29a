// HEVC-coded HEIC (made here by libheif's heif-enc) through the WebAssembly
// decoder: orientation applied exactly once, the 12 MP size of an iPhone
// photo, and workers that end with their job, aborted or not.
import { Readable } from 'node:stream'
import sharp from 'sharp'
import t from 'tap'
import { createImageEngine } from '../../src/images/engine.js'
import { HeicDecoder } from '../../src/images/heic-decoder.js'
import { probeImage } from '../../src/images/probe.js'
import { addTransforms, transformsOf } from '../support/heif.js'
import { BLUE, exiftoolRead, exiftoolWrite, GREEN, heifEnc, markerColours, markerPixels, near, RED, tempDir } from '../support/images.js'

// Encoding and decoding HEVC in WebAssembly is slow on a busy machine.
t.setTimeout(600_000)

const [W, H] = [64, 48]

const engine = createImageEngine({
  sizes: [320, 1280],
  maxFrames: 100,
  maxPixels: 50_000_000,
  maxInputBytes: 30_000_000,
  concurrency: 2,
  queueMax: 50,
  timeoutMs: 300_000
})
t.teardown(() => engine.close())

t.test('each of the 8 orientations of a HEIC comes out upright, applied once although EXIF repeats it', async (t) => {
  const dir = await tempDir(t)
  const stored = await heifEnc(dir, markerPixels(W, H), W, H)
  t.equal((await sharp(stored).metadata()).compression, 'hevc', 'the fixture is HEVC-coded')
  for (let orientation = 1; orientation <= 8; orientation++) {
    // As an iPhone writes it: irot/imir on the image and the same value in EXIF.
    const file = await exiftoolWrite(dir, addTransforms(stored, transformsOf(orientation)), 'heic', [`-Orientation#=${orientation}`])
    t.equal((await exiftoolRead(dir, file, 'heic'))['IFD0:Orientation'], orientation, `${orientation}: EXIF says so too`)
    const rotated = orientation >= 5
    const probe = probeImage(file)
    t.match(probe, { format: 'heic', orientation, width: rotated ? H : W, height: rotated ? W : H }, `${orientation}: probed from the header`)

    const outcome = await engine.generate({ source: Readable.from([file]), contentType: 'image/heic', variants: [{ size: 320, format: 'png' }] })
    if (outcome.state !== 'ready') throw new Error(JSON.stringify(outcome))
    t.same([outcome.facts.width, outcome.facts.height], rotated ? [H, W] : [W, H], `${orientation}: displayed size`)
    const preview = outcome.previews[0]!
    const { data, info } = await sharp(preview.data).raw().toBuffer({ resolveWithObject: true })
    const colours = markerColours({ data, width: info.width, height: info.height, channels: info.channels }, orientation, W, H)
    t.ok(near(colours.red, RED) && near(colours.green, GREEN) && near(colours.blue, BLUE),
      `${orientation}: red top-left, green top-right, blue below (${JSON.stringify(colours)})`)
  }
})

t.test('an EXIF orientation without irot/imir is informative only (ISO/IEC 23008-12) and not applied', async (t) => {
  const dir = await tempDir(t)
  const file = await exiftoolWrite(dir, await heifEnc(dir, markerPixels(W, H), W, H), 'heic', ['-Orientation#=6'])
  t.match(probeImage(file), { orientation: 1, width: W, height: H })
  const outcome = await engine.generate({ source: Readable.from([file]), contentType: 'image/heic', variants: [{ size: 320, format: 'png' }] })
  if (outcome.state !== 'ready') throw new Error(JSON.stringify(outcome))
  const { data, info } = await sharp(outcome.previews[0]!.data).raw().toBuffer({ resolveWithObject: true })
  const colours = markerColours({ data, width: info.width, height: info.height, channels: info.channels }, 1, W, H)
  t.ok(near(colours.red, RED) && near(colours.green, GREEN), 'shown as stored, as libheif and libvips do')
})

t.test('a 4032 x 3024 HEIC (an iPhone photo\'s size) decodes into both preview sizes', async (t) => {
  const dir = await tempDir(t)
  const raw = await sharp({ create: { width: 4032, height: 3024, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 20 } } })
    .blur(2).raw().toBuffer()
  const file = await heifEnc(dir, raw, 4032, 3024)
  t.match(probeImage(file), { format: 'heic', width: 4032, height: 3024, pixels: 12_192_768 })
  const outcome = await engine.generate({
    source: Readable.from([file]),
    contentType: 'image/heic',
    byteLength: file.length,
    variants: [{ size: 320, format: 'webp' }, { size: 1280, format: 'webp' }, { size: 1280, format: 'fallback' }]
  })
  if (outcome.state !== 'ready') throw new Error(JSON.stringify(outcome))
  t.match(outcome.facts, { format: 'heic', width: 4032, height: 3024, animated: false, hasAlpha: false, frames: 1 })
  t.same(outcome.previews.map((p) => [p.format, p.width, p.height]), [['webp', 320, 240], ['webp', 1280, 960], ['jpeg', 1280, 960]])
  for (const preview of outcome.previews) {
    const meta = await sharp(preview.data).metadata()
    t.same([meta.format, meta.width, meta.height], [preview.format, preview.width, preview.height], `${preview.size} ${preview.format} decodes`)
  }
  t.type(outcome.placeholder, 'string')
  t.equal(engine.stats().heicWorkers, 0, 'no decoder worker is left running')
})

t.test('an aborted decode ends its worker, and the next decode gets a new one', async (t) => {
  const dir = await tempDir(t)
  const file = await heifEnc(dir, markerPixels(W, H), W, H)
  const decoder = new HeicDecoder()
  t.teardown(() => decoder.close())

  // Aborted in the same tick: whatever stage the worker is at, no result can have come.
  const controller = new AbortController()
  const decoding = decoder.decode(file, { minLongEdge: 320, signal: controller.signal })
  controller.abort(new Error('timed out'))
  await t.rejects(decoding, { message: 'timed out' })
  t.same(decoder.stats(), { workers: 0, waiting: 0 }, 'the worker was terminated')

  const decoded = await decoder.decode(file, { minLongEdge: 320 })
  t.same([decoded.width, decoded.height], [W, H], 'a new worker decodes the next image')
  t.same(decoder.stats(), { workers: 0, waiting: 0 }, 'and ends with it')
})

t.test('a truncated HEIC fails as undecodable, and its worker ends', async (t) => {
  const dir = await tempDir(t)
  const file = await heifEnc(dir, markerPixels(W, H), W, H)
  const outcome = await engine.generate({ source: Readable.from([file.subarray(0, file.length - 200)]), contentType: 'image/heic', variants: [{ size: 320, format: 'webp' }] })
  t.same(outcome, { state: 'failed', reason: 'undecodable' })
  t.equal(engine.stats().heicWorkers, 0)
})
