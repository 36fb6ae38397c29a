// probeImage: the facts of real files (written by sharp and exiftool) from
// their first bytes only, and nothing but undefined for truncated, foreign
// or corrupt heads.
import { randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'
import sharp from 'sharp'
import t from 'tap'
import { PROBE_BYTES, probeImage } from '../../src/images/probe.js'
import { exiftoolWrite, tempDir } from '../support/images.js'

t.setTimeout(120_000)

const [W, H] = [120, 80]
const base = () => sharp({ create: { width: W, height: H, channels: 3, background: '#808080' } })
/** An animation of `count` frames, each a different grey (encoders merge identical frames). */
const frames = (count: number) => {
  const data = Buffer.concat(Array.from({ length: count }, (_, i) => Buffer.alloc(W * H * 3, 40 + i * 60)))
  return sharp(data, { raw: { width: W, height: H * count, channels: 3, pageHeight: H } })
}

t.test('JPEG: size as displayed for each EXIF orientation', async (t) => {
  const dir = await tempDir(t)
  const jpeg = await base().jpeg().toBuffer()
  t.same(probeImage(jpeg), { format: 'jpeg', width: W, height: H, orientation: 1, animated: false, pixels: W * H })
  for (let orientation = 1; orientation <= 8; orientation++) {
    const file = await exiftoolWrite(dir, jpeg, 'jpg', [`-Orientation#=${orientation}`, '-Make=Phone'])
    const rotated = orientation >= 5
    t.same(probeImage(file), { format: 'jpeg', width: rotated ? H : W, height: rotated ? W : H, orientation, animated: false, pixels: W * H }, `orientation ${orientation}`)
  }
})

t.test('JPEG: the size is found behind large APP segments, within PROBE_BYTES', async (t) => {
  const jpeg = await base().withMetadata({ orientation: 6 }).jpeg().toBuffer()
  // Three 64 KiB APP2 segments (like a large ICC profile) between the EXIF block and the frame header.
  const app = Buffer.alloc(65_535 + 2, 0x20)
  app.writeUInt16BE(0xffe2, 0)
  app.writeUInt16BE(65_535, 2)
  const sof = findMarker(jpeg, 0xdb)
  const padded = Buffer.concat([jpeg.subarray(0, sof), app, app, app, jpeg.subarray(sof)])
  t.ok(findMarker(padded, 0xc0) > 196_000, 'the frame header is ~200 KB in')
  t.match(probeImage(padded.subarray(0, PROBE_BYTES)), { format: 'jpeg', width: H, height: W, orientation: 6 })
  t.equal(probeImage(padded.subarray(0, 150_000)), undefined, 'a head that stops before it: no facts, no exception')
})

t.test('PNG, APNG, GIF, WebP: still or animated', async (t) => {
  const png = await base().png().toBuffer()
  t.same(probeImage(png), { format: 'png', width: W, height: H, orientation: 1, animated: false, pixels: W * H })
  t.match(probeImage(withActl(png, 3)), { format: 'png', animated: true }, 'APNG: an acTL chunk with 3 frames')
  t.match(probeImage(withActl(png, 1)), { format: 'png', animated: false }, 'an acTL chunk with one frame is no animation')

  const stillGif = await base().gif().toBuffer()
  const animatedGif = await frames(3).gif({ delay: [50, 50, 50] }).toBuffer()
  t.same(probeImage(stillGif), { format: 'gif', width: W, height: H, orientation: 1, animated: false, pixels: W * H })
  t.same(probeImage(animatedGif), { format: 'gif', width: W, height: H, orientation: 1, animated: true, pixels: W * H })

  t.same(probeImage(await base().webp().toBuffer()), { format: 'webp', width: W, height: H, orientation: 1, animated: false, pixels: W * H }, 'lossy WebP')
  t.match(probeImage(await base().webp({ lossless: true }).toBuffer()), { format: 'webp', width: W, height: H, animated: false }, 'lossless WebP')
  t.match(probeImage(await frames(2).webp().toBuffer()), { format: 'webp', width: W, height: H, animated: true }, 'animated WebP (VP8X flag)')
})

t.test('AVIF: size and orientation from the primary item\'s ispe and irot', async (t) => {
  const avif = await base().withMetadata({ orientation: 6 }).avif().toBuffer()
  t.same(probeImage(avif), { format: 'avif', width: H, height: W, orientation: 6, animated: false, pixels: W * H })
  t.match(probeImage(await base().avif().toBuffer()), { format: 'avif', width: W, height: H, orientation: 1 })
})

t.test('TIFF and BMP', async (t) => {
  const tiff = await base().tiff().toBuffer()
  t.match(probeImage(tiff.subarray(0, PROBE_BYTES)), { format: 'tiff', width: W, height: H })
  const dir = await tempDir(t)
  const rotated = await exiftoolWrite(dir, await base().tiff({ compression: 'none' }).toBuffer(), 'tif', ['-Orientation#=8'])
  t.match(probeImage(rotated), { format: 'tiff', width: H, height: W, orientation: 8 }, 'TIFF orientation tag')
  t.same(probeImage(bmp(W, H)), { format: 'bmp', width: W, height: H, orientation: 1, animated: false, pixels: W * H })
})

t.test('truncated, foreign and corrupt heads give undefined and never throw', async (t) => {
  const samples = [
    await base().jpeg().toBuffer(), await base().png().toBuffer(), await base().gif().toBuffer(),
    await base().webp().toBuffer(), await base().avif().toBuffer(), await base().tiff().toBuffer(), bmp(W, H)
  ]
  for (const sample of samples) {
    const whole = probeImage(sample)!
    for (let cut = 0; cut < Math.min(sample.length, 400); cut++) {
      const head = probeImage(sample.subarray(0, cut))
      // GIF and BMP have their size in the first bytes; a head either gives the full file's size or nothing.
      if (head !== undefined && (head.format !== whole.format || head.width !== whole.width || head.height !== whole.height)) {
        t.fail(`${whole.format} cut to ${cut} bytes: ${JSON.stringify(head)}`)
      }
    }
    t.equal(probeImage(sample.subarray(0, 6)), undefined, `${whole.format}: 6 bytes are not enough`)
  }
  t.equal(probeImage(Buffer.from('%PDF-1.7 not an image')), undefined)
  t.equal(probeImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')), undefined, 'SVG is not a raster image')
  // Random corruption of real heads: whatever comes out, nothing is thrown.
  let threw = 0
  for (let round = 0; round < 300; round++) {
    const sample = Buffer.from(samples[round % samples.length]!)
    for (let i = 0; i < 8; i++) sample[Math.floor(Math.random() * Math.min(sample.length, 400))] = randomBytes(1)[0]!
    try { probeImage(sample.subarray(0, Math.floor(Math.random() * sample.length))) } catch { threw += 1 }
  }
  t.equal(threw, 0, 'no exception from 300 corrupted heads')
})

function findMarker (jpeg: Buffer, marker: number): number {
  for (let i = 2; i < jpeg.length - 1; i++) if (jpeg[i] === 0xff && jpeg[i + 1] === marker) return i
  return -1
}

/** The PNG with an acTL chunk (APNG) right after IHDR. */
function withActl (png: Buffer, frameCount: number): Buffer {
  const body = Buffer.alloc(12)
  body.write('acTL', 0, 'latin1')
  body.writeUInt32BE(frameCount, 4)
  const chunk = Buffer.alloc(8 + 8 + 4)
  chunk.writeUInt32BE(8, 0)
  body.copy(chunk, 4, 0, 12)
  chunk.writeUInt32BE(crc32(body), 16)
  return Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)])
}

/** A bottom-up 24-bit BMP (BITMAPINFOHEADER), grey. */
function bmp (width: number, height: number): Buffer {
  const row = Math.ceil(width * 3 / 4) * 4
  const file = Buffer.alloc(54 + row * height, 128)
  file.write('BM', 0, 'latin1')
  file.writeUInt32LE(file.length, 2)
  file.writeUInt32LE(0, 6)
  file.writeUInt32LE(54, 10)
  file.writeUInt32LE(40, 14)
  file.writeInt32LE(width, 18)
  file.writeInt32LE(height, 22)
  file.writeUInt16LE(1, 26)
  file.writeUInt16LE(24, 28)
  file.writeUInt32LE(0, 30)
  file.writeUInt32LE(row * height, 34)
  file.fill(0, 38, 54)
  return file
}
