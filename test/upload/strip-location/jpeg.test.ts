// JPEG cases beyond what ExifTool writes by itself: a vendor maker note
// with the body serial number, both TIFF byte orders, Photoshop's copy of
// EXIF in APP13, extended XMP with a GPS property cut across two segments,
// progressive scans, a second image after EOI; and files that are
// truncated or corrupt, which must still be stored (unchanged where they
// stop making sense) without an error.
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import t from 'tap'
import { CAMERA_METADATA, picture, privateTags, readTags, strip, tempDir, writeTags } from '../../support/metadata-images.js'
import { buildTiff, type TiffIfd, withJpegSegments } from '../../support/tiff-builder.js'

t.setTimeout(180_000)

const GPS: TiffIfd = {
  entries: [
    [0x0001, { ascii: 'N' }], [0x0002, { rational: [[48, 1], [51, 1], [2994, 100]] }],
    [0x0003, { ascii: 'E' }], [0x0004, { rational: [[2, 1], [17, 1], [402, 100]] }]
  ]
}

// A Canon maker note is a bare IFD; tag 0x000C is the camera body's serial number.
const CANON_MAKER_NOTE = Buffer.from([0, 1, 0x00, 0x0c, 0, 4, 0, 0, 0, 1, 0x3a, 0xde, 0x68, 0xb1, 0, 0, 0, 0])

function cameraExif (little: boolean): Buffer {
  const tiff = buildTiff({
    entries: [
      [0x010f, { ascii: 'Canon' }], [0x0110, { ascii: 'Canon EOS 5D' }], [0x0112, { short: [8] }],
      [0xc62f, { ascii: 'CS-2342-CAM' }],
      [0x8769, {
        ifd: {
          entries: [
            [0x9003, { ascii: '2024:05:06 07:08:09' }], [0x927c, { undefined: CANON_MAKER_NOTE }],
            [0xa430, { ascii: 'Jane Roe' }], [0xa431, { ascii: 'SN-4711-BODY' }], [0xa435, { ascii: 'LS-0815-LENS' }]
          ]
        }
      }],
      [0x8825, { ifd: GPS }]
    ],
    next: { entries: [[0x0103, { short: [6] }]] } // IFD1, as for a thumbnail
  }, { little })
  return Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff])
}

async function stripFile (dir: string, name: string, data: Buffer): Promise<{ input: string, output: string, stored: Buffer }> {
  const input = join(dir, `${name}.jpg`)
  const output = join(dir, `${name}-stored.jpg`)
  await writeFile(input, data)
  const stored = await strip(data, 'image/jpeg')
  await writeFile(output, stored)
  return { input, output, stored }
}

t.test('maker note, camera serial number and owner name go, in both byte orders', async (t) => {
  const dir = await tempDir(t)
  const base = await readFile(await picture(dir, 'jpeg'))
  for (const little of [false, true]) {
    const { input, output, stored } = await stripFile(dir, little ? 'ii' : 'mm', withJpegSegments(base, [[0xe1, cameraExif(little)]]))
    const [before, after] = await readTags(input, output)
    t.match(before, { 'Canon:SerialNumber': 987654321, 'IFD0:CameraSerialNumber': 'CS-2342-CAM', 'ExifIFD:OwnerName': 'Jane Roe', 'GPS:GPSLatitude': Number }, 'the input carries them')
    t.same(privateTags(after!), [], `${little ? 'II' : 'MM'}: none left`)
    t.match(after, { 'IFD0:Make': 'Canon', 'IFD0:Orientation': 8, 'ExifIFD:DateTimeOriginal': '2024:05:06 07:08:09', 'IFD1:Compression': 6 }, 'the rest reads, IFD1 included')
    t.equal(stored.length, base.length + cameraExif(little).length + 4)
  }
})

t.test("Photoshop's copy of EXIF in APP13 is scrubbed too", async (t) => {
  const dir = await tempDir(t)
  const base = await readFile(await picture(dir, 'jpeg'))
  const exif = cameraExif(false).subarray(6)
  const resource = Buffer.alloc(12)
  resource.write('8BIM', 0, 'latin1')
  resource.writeUInt16BE(0x0422, 4) // EXIF data 1
  resource.writeUInt32BE(exif.length, 8)
  const app13 = Buffer.concat([Buffer.from('Photoshop 3.0\0', 'latin1'), resource, exif, Buffer.alloc(exif.length & 1)])
  const { input, output } = await stripFile(dir, 'photoshop', withJpegSegments(base, [[0xed, app13]]))
  const [before, after] = await readTags(input, output)
  t.match(before, { 'GPS:GPSLatitude': Number, 'ExifIFD:SerialNumber': 'SN-4711-BODY' })
  t.same(privateTags(after!), [])
  t.match(after, { 'IFD0:Make': 'Canon', 'IFD0:Orientation': 8 })
})

/** APP1 payloads of an XMP packet whose extended part (Adobe XMP spec part 3, 1.1.3.1) is cut at `cuts`. */
function extendedXmp (extended: string, cuts: number[]): Buffer[] {
  const data = Buffer.from(extended)
  const guid = createHash('md5').update(data).digest('hex').toUpperCase()
  const main = `<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description rdf:about='' xmlns:xmpNote='http://ns.adobe.com/xmp/note/' xmpNote:HasExtendedXMP='${guid}'/></rdf:RDF></x:xmpmeta><?xpacket end='w'?>`
  const payloads = [Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(main)])]
  const bounds = [0, ...cuts, data.length]
  for (let i = 0; i + 1 < bounds.length; i++) {
    const head = Buffer.alloc(8)
    head.writeUInt32BE(data.length, 0)
    head.writeUInt32BE(bounds[i]!, 4)
    payloads.push(Buffer.concat([Buffer.from('http://ns.adobe.com/xmp/extension/\0', 'latin1'), Buffer.from(guid, 'latin1'), head, data.subarray(bounds[i]!, bounds[i + 1]!)]))
  }
  return payloads
}

t.test('extended XMP: a GPS property cut across two segments is blanked in both', async (t) => {
  const dir = await tempDir(t)
  const base = await readFile(await picture(dir, 'jpeg'))
  const extended = "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>" +
    "<rdf:Description rdf:about='' xmlns:exif='http://ns.adobe.com/exif/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:aux='http://ns.adobe.com/exif/1.0/aux/'>" +
    `<dc:description><rdf:Alt><rdf:li xml:lang='x-default'>${'a long note '.repeat(6000)}</rdf:li></rdf:Alt></dc:description>` +
    '<exif:GPSLatitude>48,51.498N</exif:GPSLatitude><aux:SerialNumber>XS-1234-XMP</aux:SerialNumber></rdf:Description></rdf:RDF></x:xmpmeta>'
  for (const cut of ['<exif:GPSLat', '<exif:GPSLatitude>48,5', '48,51.498N</exif:GPS', '<aux:Seri']) {
    const position = extended.indexOf(cut) + cut.length
    const segments = extendedXmp(extended, [60_000, position])
    const { input, output, stored } = await stripFile(dir, 'extended', withJpegSegments(base, segments.map((p) => [0xe1, p])))
    const [before, after] = await readTags(input, output)
    t.match(before, { 'XMP-exif:GPSLatitude': Number, 'XMP-aux:SerialNumber': 'XS-1234-XMP', 'XMP-dc:Description': /a long note/ }, `cut after "${cut}": the input carries them`)
    t.same(privateTags(after!), [], `cut after "${cut}": none left`)
    t.match(after, { 'XMP-dc:Description': /a long note/ }, 'the rest of the extended XMP still reads')
    t.equal(stored.indexOf('48,51.498N'), -1)

    // Without its last segment the run ends inside the cut property, which
    // keeps the segment before held until something else follows: a fill
    // byte, or the end of a truncated file. It must go out before them.
    const head = withJpegSegments(Buffer.from([0xff, 0xd8]), segments.slice(0, -1).map((p) => [0xe1, p]))
    const ff = Buffer.from([0xff])
    const plain = await strip(Buffer.concat([head, base.subarray(2)]), 'image/jpeg')
    t.ok((await strip(Buffer.concat([head, ff, base.subarray(2)]), 'image/jpeg')).equals(Buffer.concat([plain.subarray(0, head.length), ff, plain.subarray(head.length)])), 'a fill byte after the segments stays after them')
    t.ok((await strip(Buffer.concat([head, ff]), 'image/jpeg')).equals(Buffer.concat([plain.subarray(0, head.length), ff])), 'a file ending in 0xFF after the segments: the 0xFF stays last')
  }
})

t.test('progressive JPEG and a second image after EOI (as MPF appends one)', async (t) => {
  const dir = await tempDir(t)
  const source = await picture(dir, 'jpeg')
  const progressive = join(dir, 'progressive.jpg')
  await sharp(source).keepIccProfile().jpeg({ progressive: true }).toFile(progressive)
  await writeTags(progressive, CAMERA_METADATA)
  const first = await readFile(progressive)
  const second = withJpegSegments(await readFile(source), [[0xe1, cameraExif(true)]])
  const { stored } = await stripFile(dir, 'two', Buffer.concat([first, second]))
  t.equal(stored.length, first.length + second.length)
  await writeFile(join(dir, 'first.jpg'), stored.subarray(0, first.length))
  await writeFile(join(dir, 'second.jpg'), stored.subarray(first.length))
  const [a, b] = await readTags(join(dir, 'first.jpg'), join(dir, 'second.jpg'))
  t.same(privateTags(a!), [], 'first image: none left')
  t.same(privateTags(b!), [], 'appended image: none left')
  t.match(a, { 'IFD0:Orientation': 6, 'ICC_Profile:ProfileDescription': 'sP3C' })
  t.match(b, { 'IFD0:Orientation': 8 })
  const decode = (data: Buffer) => sharp(data).raw().toBuffer()
  t.ok((await decode(stored.subarray(0, first.length))).equals(await decode(first)), 'the progressive scans decode identical')
})

t.test('truncated and corrupt JPEGs are stored, unchanged past where they break', async (t) => {
  const dir = await tempDir(t)
  const path = await picture(dir, 'jpeg')
  await writeTags(path, CAMERA_METADATA)
  const whole = await readFile(path)
  const scan = whole.indexOf(Buffer.from([0xff, 0xda]))
  const app1 = whole.indexOf(Buffer.from([0xff, 0xe1]))

  const inScan = whole.subarray(0, scan + 100)
  const { output, stored } = await stripFile(dir, 'cut-in-scan', inScan)
  t.equal(stored.length, inScan.length, 'cut in the scan: same size')
  t.same(privateTags((await readTags(output))[0]!), [], 'cut in the scan: the metadata before it is still scrubbed')

  for (const [name, data] of Object.entries({
    'cut inside APP1': whole.subarray(0, app1 + 40),
    'cut inside a marker': whole.subarray(0, scan + 1),
    'only SOI': whole.subarray(0, 2),
    'garbage after SOI': Buffer.concat([whole.subarray(0, 2), Buffer.from('not a marker at all'), whole.subarray(2)]),
    'a segment length below 2': Buffer.concat([whole.subarray(0, 2), Buffer.from([0xff, 0xe1, 0x00, 0x01]), whole.subarray(2)]),
    'a segment length past the end': Buffer.concat([whole.subarray(0, 2), Buffer.from([0xff, 0xe1, 0xff, 0xff, 0x45, 0x78])]),
    'not a JPEG at all': Buffer.from('GIF89a, labelled image/jpeg')
  })) {
    const stored = await strip(data, 'image/jpeg')
    t.equal(stored.length, data.length, `${name}: stored, same size`)
    t.ok((await strip(data, 'image/jpeg', [1])).equals(stored), `${name}: same one byte at a time`)
  }
  const garbage = Buffer.concat([whole.subarray(0, 2), Buffer.from('not a marker at all'), whole.subarray(2)])
  t.ok((await strip(garbage, 'image/jpeg')).equals(garbage), 'bytes that break the marker structure pass unchanged from there')
})
