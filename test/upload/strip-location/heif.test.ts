// HEIF layouts beyond the one ExifTool writes (items in an mdat after the
// meta box, covered with a real HEIC in formats.test.ts): metadata inside
// the meta box's idat, an item cut into several extents, and the layouts
// that cannot be stripped while streaming, which are refused (422) rather
// than stored with their position.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { CAMERA_METADATA, picture, privateTags, readTags, strip, tempDir, writeTags } from '../../support/metadata-images.js'
import { buildHeif, exifItem, type HeifItem } from '../../support/heif-builder.js'
import { buildTiff } from '../../support/tiff-builder.js'

t.setTimeout(180_000)

const TIFF = buildTiff({
  entries: [
    [0x010f, { ascii: 'Apple' }], [0x0110, { ascii: 'iPhone 15' }], [0x0112, { short: [6] }],
    [0x8769, { ifd: { entries: [[0x9003, { ascii: '2024:05:06 07:08:09' }], [0xa431, { ascii: 'SN-4711-BODY' }], [0xa435, { ascii: 'LS-0815-LENS' }]] } }],
    [0x8825, { ifd: { entries: [[0x0001, { ascii: 'N' }], [0x0002, { rational: [[48, 1], [51, 1], [2994, 100]] }], [0x0006, { rational: [[35, 1]] }]] } }]
  ]
}, { little: true })
const EXIF = exifItem(TIFF)
const XMP = Buffer.from("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>" +
  "<rdf:Description rdf:about='' xmlns:exif='http://ns.adobe.com/exif/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/' exif:GPSLatitude='48,51.498N' dc:format='image/heic'/>" +
  '</rdf:RDF></x:xmpmeta>')
const xmpItem = (method: 0 | 1, extra: Partial<HeifItem> = {}): HeifItem => ({ id: 2, type: 'mime', contentType: 'application/rdf+xml', data: XMP, method, ...extra })

/** Reads an item's bytes (found at the same offset as in the input) with ExifTool: Exif as a TIFF file, XMP as an XMP file. */
async function readItems (dir: string, input: Buffer, output: Buffer) {
  const exifAt = input.indexOf(EXIF)
  const xmpAt = input.indexOf(XMP)
  const files = [['in.exif', input, exifAt, EXIF], ['out.exif', output, exifAt, EXIF], ['in.xmp', input, xmpAt, XMP], ['out.xmp', output, xmpAt, XMP]] as const
  for (const [name, data, at, item] of files) await writeFile(join(dir, name), data.subarray(at + (item === EXIF ? 10 : 0), at + item.length))
  return await readTags(...files.map(([name]) => join(dir, name)))
}

t.test('Exif and XMP stored in the meta box (idat, construction method 1)', async (t) => {
  const dir = await tempDir(t)
  const input = buildHeif([{ id: 1, type: 'Exif', data: EXIF, method: 1 }, xmpItem(1)])
  const output = await strip(input, 'image/heic')
  t.equal(output.length, input.length)
  // ExifTool 12.57 does not read items in idat from a HEIF file; it reads the item bytes themselves.
  const [exifBefore, exifAfter, xmpBefore, xmpAfter] = await readItems(dir, input, output)
  t.match(exifBefore, { 'GPS:GPSLatitude': Number, 'ExifIFD:SerialNumber': 'SN-4711-BODY' }, 'the input item carries them')
  t.same(privateTags(exifAfter!), [])
  t.match(exifAfter, { 'IFD0:Make': 'Apple', 'IFD0:Orientation': 6, 'ExifIFD:DateTimeOriginal': '2024:05:06 07:08:09' })
  t.match(xmpBefore, { 'XMP-exif:GPSLatitude': Number })
  t.same(privateTags(xmpAfter!), [])
  t.match(xmpAfter, { 'XMP-dc:Format': 'image/heic' })
  t.ok((await strip(input, 'image/heic', [1])).equals(output), 'same output one byte at a time')
})

t.test('items after the meta box, one of them cut into extents with other bytes between', async (t) => {
  const dir = await tempDir(t)
  const input = buildHeif([{ id: 1, type: 'Exif', data: EXIF, method: 0, cuts: [7, 60, 61] }, xmpItem(0)])
  const output = await strip(input, 'image/heic')
  t.equal(output.length, input.length)
  await writeFile(join(dir, 'in.heic'), input)
  await writeFile(join(dir, 'out.heic'), output)
  const [before, after] = await readTags(join(dir, 'in.heic'), join(dir, 'out.heic'))
  t.match(before, { 'GPS:GPSLatitude': Number, 'ExifIFD:LensSerialNumber': 'LS-0815-LENS', 'XMP-exif:GPSLatitude': Number })
  t.same(privateTags(after!), [])
  t.match(after, { 'IFD0:Model': 'iPhone 15', 'IFD0:Orientation': 6, 'XMP-dc:Format': 'image/heic' })
  t.ok(output.includes('--other bytes---'), 'the bytes between the extents are untouched')
  t.ok((await strip(input, 'image/heic', [5, 1, 3])).equals(output), 'same output in odd chunks')
})

t.test('layouts a stream cannot strip are refused with 422, not stored', async (t) => {
  const refused = {
    'metadata before the meta box': [buildHeif([{ id: 1, type: 'Exif', data: EXIF, method: 0 }], { mdatFirst: true }), /before the HEIF meta box/],
    'XMP with a content encoding': [buildHeif([xmpItem(0, { contentEncoding: 'deflate' })]), /content encoding/],
    'an item built from other items': [buildHeif([{ id: 1, type: 'Exif', data: EXIF, method: 2 }]), /construction method 2/]
  } as const
  for (const [name, [data, message]] of Object.entries(refused)) {
    await t.rejects(strip(data, 'image/heic'), { code: 'ATT_METADATA_UNSTRIPPABLE', statusCode: 422, message }, name)
  }
  const meta = buildHeif([{ id: 1, type: 'Exif', data: EXIF, method: 1 }])
  await t.rejects(strip(meta, 'image/heic', undefined, { maxMetadataBytes: 200 }), { statusCode: 422, message: /meta box is over 200 bytes/ }, 'a meta box over the cap')
  const later = buildHeif([{ id: 1, type: 'Exif', data: EXIF, method: 0, cuts: [10] }])
  await t.rejects(strip(later, 'image/heic', undefined, { maxMetadataBytes: 250 }), { statusCode: 422, message: /item is over 250 bytes/ }, 'an item span over the cap')
  const plain = buildHeif([{ id: 1, type: 'hvc1', data: Buffer.alloc(64, 7), method: 0 }], { mdatFirst: true })
  t.ok((await strip(plain, 'image/heic')).equals(plain), 'a file without metadata items passes whatever its layout')
})

t.test('a truncated HEIC is stored at its size, without an error', async (t) => {
  const dir = await tempDir(t)
  const path = await picture(dir, 'heic')
  await writeTags(path, CAMERA_METADATA)
  const whole = await readFile(path)
  for (let cut = 1; cut < whole.length; cut += 97) {
    t.equal((await strip(whole.subarray(0, cut), 'image/heic')).length, cut, `cut at ${cut}`)
  }
  const notHeif = Buffer.from('\0\0\0\x01ftyp\0\0\0\0 a 64-bit size that ends early')
  t.ok((await strip(notHeif, 'image/heic')).equals(notHeif), 'a broken box header: unchanged')
})
