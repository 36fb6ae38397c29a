// PNG cases beyond ExifTool's own layout (eXIf plus uncompressed iTXt XMP,
// covered in formats.test.ts): XMP compressed in zTXt or iTXt, EXIF as an
// ImageMagick "Raw profile type" (hex digits, compressed or not), XMP larger
// than the memory cap (it streams), metadata past the cap (refused, 422),
// CRCs, and truncated files.
import { writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32, deflateSync, inflateSync } from 'node:zlib'
import t from 'tap'
import { deflateToLength } from '../../../src/upload/strip-location/png-text.js'
import { MetadataUnstrippableError } from '../../../src/upload/strip-location/index.js'
import { picture, pixels, privateTags, readTags, strip, tempDir } from '../../support/metadata-images.js'
import { buildTiff } from '../../support/tiff-builder.js'

t.setTimeout(180_000)

function chunk (type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])))
  return Buffer.concat([head, data, crc])
}

/** The PNG with chunks inserted after IHDR (before the image data, where metadata belongs). */
function withChunks (png: Buffer, ...chunks: Buffer[]): Buffer {
  return Buffer.concat([png.subarray(0, 33), ...chunks, png.subarray(33)])
}

/** Every chunk's CRC matches its type and data. */
function crcsValid (png: Buffer): boolean {
  for (let at = 8; at + 12 <= png.length;) {
    const length = png.readUInt32BE(at)
    if (crc32(png.subarray(at + 4, at + 8 + length)) !== png.readUInt32BE(at + 8 + length)) return false
    at += 12 + length
  }
  return true
}

const XMP = "<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>\n<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>" +
  "<rdf:Description rdf:about='' xmlns:exif='http://ns.adobe.com/exif/1.0/' xmlns:aux='http://ns.adobe.com/exif/1.0/aux/' xmlns:dc='http://purl.org/dc/elements/1.1/' exif:GPSLatitude='48,51.498N' aux:SerialNumber='XS-1234-XMP'>" +
  "<exif:GPSLongitude>2,17.67E</exif:GPSLongitude><dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Leaking tap</rdf:li></rdf:Alt></dc:title>" +
  "</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end='w'?>"

const EXIF = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), buildTiff({
  entries: [
    [0x010f, { ascii: 'Canon' }], [0x0112, { short: [3] }],
    [0x8769, { ifd: { entries: [[0xa431, { ascii: 'SN-4711-BODY' }]] } }],
    [0x8825, { ifd: { entries: [[0x0001, { ascii: 'N' }], [0x0002, { rational: [[48, 1], [51, 1], [2994, 100]] }]] } }]
  ]
})])

// ImageMagick's layout: "\n<name>\n<length, 8 wide>\n<hex, 72 digits a line>\n".
const rawProfile = (name: string, data: Buffer) =>
  `\n${name}\n${String(data.length).padStart(8)}\n${data.toString('hex').replace(/(.{72})/g, '$1\n')}\n`

const text = (keyword: string, value: string | Buffer) => Buffer.concat([Buffer.from(`${keyword}\0`, 'latin1'), Buffer.from(value)])

const cases: Record<string, Buffer> = {
  'XMP in zTXt': chunk('zTXt', Buffer.concat([text('XML:com.adobe.xmp', ''), Buffer.from([0]), deflateSync(XMP)])),
  'XMP in compressed iTXt': chunk('iTXt', Buffer.concat([text('XML:com.adobe.xmp', ''), Buffer.from([1, 0, 0, 0]), deflateSync(XMP)])),
  'XMP in tEXt': chunk('tEXt', text('XML:com.adobe.xmp', XMP)),
  'EXIF as a compressed raw profile': chunk('zTXt', Buffer.concat([text('Raw profile type exif', ''), Buffer.from([0]), deflateSync(rawProfile('exif', EXIF))])),
  'EXIF as an uncompressed APP1 raw profile': chunk('tEXt', text('Raw profile type APP1', rawProfile('APP1', EXIF)))
}

t.test('compressed and legacy metadata chunks are scrubbed, same size, valid CRCs, same pixels', async (t) => {
  const dir = await tempDir(t)
  const base = await readFile(await picture(dir, 'png'))
  for (const [name, metadata] of Object.entries(cases)) {
    const input = join(dir, 'input.png')
    const output = join(dir, 'output.png')
    const data = withChunks(base, metadata)
    await writeFile(input, data)
    const stored = await strip(data, 'image/png')
    await writeFile(output, stored)
    const [before, after] = await readTags(input, output)
    t.ok(privateTags(before!).some((tag) => /gps/i.test(tag)), `${name}: ExifTool reads a position from the input`)
    t.same(privateTags(after!), [], `${name}: none left`)
    t.equal(after!['ExifTool:Warning'], before!['ExifTool:Warning'], `${name}: no new warning`)
    if (name.startsWith('XMP')) t.equal(after!['XMP-dc:Title'], 'Leaking tap', `${name}: the rest of the XMP still inflates and reads`)
    else t.match(after, { 'IFD0:Make': 'Canon', 'IFD0:Orientation': 3 }, `${name}: the rest of the EXIF reads`)
    t.equal(stored.length, data.length, `${name}: same size`)
    t.ok(crcsValid(stored), `${name}: every CRC is valid`)
    t.ok((await pixels(output, 'png')).equals(await pixels(input, 'png')), `${name}: same pixels`)
    t.ok((await strip(data, 'image/png', [1])).equals(stored), `${name}: same output one byte at a time`)
  }
})

t.test('deflateToLength: a zlib stream of exactly the old length, inflating to the text and spaces', async (t) => {
  const data = Buffer.from(XMP.replace('48,51.498N', ' '.repeat(10)))
  // The sync-flushed body, a stored block header (5 bytes) and the Adler-32 (4) at least.
  for (const length of [deflateSync(data).length + 16, deflateSync(data).length + 100, 1000, 70_000, 140_000]) {
    const stream = deflateToLength(data, length)!
    t.equal(stream.length, length, `${length} bytes`)
    const inflated = inflateSync(stream)
    t.ok(inflated.subarray(0, data.length).equals(data), 'the text first')
    t.match(inflated.subarray(data.length).toString('latin1'), /^ *$/, 'then only spaces')
  }
  t.equal(deflateToLength(data, 20), undefined, 'undefined when it cannot fit')
})

t.test('XMP larger than the memory cap streams and is scrubbed; EXIF larger is refused', async (t) => {
  const dir = await tempDir(t)
  const base = await readFile(await picture(dir, 'png'))
  const padding = `<!-- ${'padding '.repeat(300_000)} -->`
  const big = withChunks(base, chunk('iTXt', Buffer.concat([text('XML:com.adobe.xmp', ''), Buffer.from([0, 0, 0, 0]), Buffer.from(XMP.replace('<rdf:RDF', `${padding}<rdf:RDF`))])))
  t.ok(big.length > 2 * 1024 * 1024)
  const stored = await strip(big, 'image/png', [65_536], { maxMetadataBytes: 1024 * 1024 })
  t.equal(stored.length, big.length)
  t.equal(stored.indexOf('48,51.498N'), -1)
  t.equal(stored.indexOf('XS-1234-XMP'), -1)
  t.ok(crcsValid(stored))

  const exif = withChunks(base, chunk('eXIf', EXIF.subarray(6)))
  await t.rejects(strip(exif, 'image/png', undefined, { maxMetadataBytes: 64 }), { code: 'ATT_METADATA_UNSTRIPPABLE', statusCode: 422 })
  t.ok((await strip(exif, 'image/png', undefined, { maxMetadataBytes: 1024 })).length === exif.length, 'within the cap it passes')
})

t.test('compressed metadata that inflates past the cap is refused without inflating it all', async (t) => {
  const dir = await tempDir(t)
  const base = await readFile(await picture(dir, 'png'))
  // 16 MiB of spaces deflate to about 16 KiB.
  const bomb = deflateSync(Buffer.concat([Buffer.from(XMP), Buffer.alloc(16 * 1024 * 1024, 0x20)]))
  const data = withChunks(base, chunk('zTXt', Buffer.concat([text('XML:com.adobe.xmp', ''), Buffer.from([0]), bomb])))
  const error = await strip(data, 'image/png').then(() => undefined, (err: unknown) => err)
  t.type(error, MetadataUnstrippableError)
  t.match(error, { statusCode: 422, message: /inflates past 1048576 bytes/ })
})

t.test('a chunk that needs no change keeps its bytes, even a wrong CRC', async (t) => {
  const dir = await tempDir(t)
  const base = await readFile(await picture(dir, 'png'))
  const note = chunk('iTXt', Buffer.concat([text('XML:com.adobe.xmp', ''), Buffer.from([0, 0, 0, 0]), Buffer.from(XMP.replace(/exif:GPS\w+|aux:SerialNumber/g, 'dc:source'))]))
  note.writeUInt32BE(0xdeadbeef, note.length - 4)
  const data = withChunks(base, note)
  t.ok((await strip(data, 'image/png')).equals(data))
})

t.test('truncated PNGs are stored at their size, without an error', async (t) => {
  const dir = await tempDir(t)
  const base = await readFile(await picture(dir, 'png'))
  const data = withChunks(base, chunk('eXIf', EXIF.subarray(6)), cases['XMP in tEXt']!, cases['XMP in zTXt']!)
  for (let cut = 1; cut < 33 + EXIF.length + 400; cut += 7) {
    const truncated = data.subarray(0, cut)
    const stored = await strip(truncated, 'image/png')
    t.equal(stored.length, cut, `cut at ${cut}`)
  }
  const cutInExif = data.subarray(0, 33 + 8 + 150)
  t.equal((await strip(cutInExif, 'image/png')).indexOf('SN-4711-BODY'), -1, 'cut inside eXIf: what there is of it is scrubbed')
  t.not(cutInExif.indexOf('SN-4711-BODY'), -1)
  const notPng = Buffer.from('a text file labelled image/png')
  t.ok((await strip(notPng, 'image/png')).equals(notPng), 'not a PNG: unchanged')
})
