// encodeRawTiff: what the HEIC worker hands to sharp. Read back by libvips
// (sharp): the size, the box-averaged pixels, the alpha channel and the ICC
// profile all survive.
import sharp from 'sharp'
import t from 'tap'
import { encodeRawTiff, shrinkFactor } from '../../src/images/raw-tiff.js'

t.test('the shrink keeps the long edge at least the largest preview size, by powers of two', async (t) => {
  t.equal(shrinkFactor(4032, 3024, 1280), 2)
  t.equal(shrinkFactor(8064, 6048, 1280), 4)
  t.equal(shrinkFactor(2560, 1920, 1280), 2)
  t.equal(shrinkFactor(2559, 1920, 1280), 1)
  t.equal(shrinkFactor(64, 48, 320), 1)
})

t.test('pixels are box-averaged, rows are read past their stride, and libvips reads the result', async (t) => {
  // 4 x 2 RGB with 2 bytes of padding per row: left 2x2 block averages to (100, 50, 0).
  const rows = [
    [80, 40, 0, 120, 60, 0, 10, 10, 10, 30, 30, 30, 9, 9],
    [100, 50, 0, 100, 50, 0, 20, 20, 20, 20, 20, 20, 9, 9]
  ]
  const { tiff, width, height } = encodeRawTiff(
    { width: 4, height: 2, channels: 3, premultiplied: false, data: Uint8Array.from(rows.flat()), stride: 14 },
    { minLongEdge: 2 })
  t.same([width, height], [2, 1])
  const { data, info } = await sharp(Buffer.from(tiff)).raw().toBuffer({ resolveWithObject: true })
  t.same([info.width, info.height, info.channels], [2, 1, 3])
  t.same([...data], [100, 50, 0, 20, 20, 20])
})

t.test('alpha stays an alpha channel and the ICC profile is carried', async (t) => {
  const icc = (await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } }).withIccProfile('p3').png().toBuffer()
    .then((png) => sharp(png).metadata())).icc!
  const rgba = Uint8Array.from([255, 0, 0, 255, 0, 0, 255, 0])
  const { tiff } = encodeRawTiff({ width: 2, height: 1, channels: 4, premultiplied: false, data: rgba, stride: 8 }, { minLongEdge: 2, icc })
  const meta = await sharp(Buffer.from(tiff)).metadata()
  t.match(meta, { format: 'tiff', width: 2, height: 1, channels: 4, hasAlpha: true, hasProfile: true })
  t.same(meta.icc, icc, 'the same profile bytes')
  const { data } = await sharp(Buffer.from(tiff), { ignoreIcc: true }).raw().toBuffer({ resolveWithObject: true })
  t.same([...data], [...rgba], 'pixels as given')
})
