// The promise of ORIGINAL_METADATA=strip-location, format by format, on real
// files: a picture with a position and serial numbers (written by ExifTool)
// goes through the stripper; ExifTool, reading the result, finds no position
// and no serial number, but the orientation, the colour profile, make,
// model and date; the pixels decode identical, the size is unchanged, and
// the result does not depend on how the bytes were cut into chunks.
import { writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { FORMATS, CAMERA_METADATA, KEPT_TAGS, MEDIA_TYPE, SECRETS, oddSizes, picture, pixels, privateTags, readTags, strip, tempDir, writeTags } from '../../support/metadata-images.js'

// ExifTool and heif-enc start a process per call; the machine is shared.
t.setTimeout(240_000)

for (const format of FORMATS) {
  t.test(`${format}: GPS and serial numbers are gone; orientation, ICC profile, tags and pixels stay`, async (t) => {
    const dir = await tempDir(t)
    const input = await picture(dir, format)
    await writeTags(input, CAMERA_METADATA)
    const original = await readFile(input)
    const kept = Buffer.from(original)

    const stored = await strip(original, MEDIA_TYPE[format])
    t.ok(original.equals(kept), 'the input buffer is not modified')
    const output = join(dir, `stored.${format}`)
    await writeFile(output, stored)

    const [before, after] = await readTags(input, output)
    // The fixture really carries what must go.
    t.match(before, { 'GPS:GPSLatitude': 48.8583, 'GPS:GPSLongitude': 2.2945, 'GPS:GPSAltitude': 35, 'XMP-exif:GPSLatitude': 48.8583 })
    t.match(before, { 'ExifIFD:SerialNumber': 'SN-4711-BODY', 'ExifIFD:LensSerialNumber': 'LS-0815-LENS', 'IFD0:CameraSerialNumber': 'CS-2342-CAM' })
    t.match(before, { 'ExifIFD:OwnerName': 'Jane Roe', 'XMP-aux:SerialNumber': 'XS-1234-XMP', 'XMP-aux:LensSerialNumber': 'XL-5678-XMP', 'XMP-exifEX:SerialNumber': 'XB-9012-XMP' })
    t.match(before, KEPT_TAGS, 'the fixture carries the tags that must stay')

    t.same(privateTags(after!), [], 'ExifTool finds no GPS, serial number or owner tag in the stored file')
    for (const secret of SECRETS) {
      t.not(original.indexOf(secret), -1, `"${secret}" is in the uploaded bytes`)
      t.equal(stored.indexOf(secret), -1, `"${secret}" is nowhere in the stored bytes`)
    }
    t.match(after, KEPT_TAGS, 'orientation, colour profile, make, model, date, unique id and other XMP stay')
    t.equal(after!['ExifTool:Warning'], before!['ExifTool:Warning'], 'no new warning from ExifTool')
    t.equal(after!['ExifTool:Error'], undefined, 'no error from ExifTool')

    t.equal(stored.length, original.length, 'same size')
    t.ok((await pixels(output, format)).equals(await pixels(input, format)), 'the pixels decode identical')

    t.ok((await strip(original, MEDIA_TYPE[format], [1])).equals(stored), 'same output when fed one byte at a time')
    t.ok((await strip(original, MEDIA_TYPE[format], oddSizes(400, 97))).equals(stored), 'same output with odd chunk boundaries')
    t.ok((await strip(original, MEDIA_TYPE[format], [3, 4093, 5, 8191])).equals(stored), 'same output with chunks around the 4100-byte sniff')
  })

  t.test(`${format}: a picture without metadata is stored byte for byte`, async (t) => {
    const dir = await tempDir(t)
    const input = await readFile(await picture(dir, format))
    t.ok((await strip(input, MEDIA_TYPE[format])).equals(input))
    t.ok((await strip(input, MEDIA_TYPE[format], [1])).equals(input), 'also one byte at a time')
  })

  t.test(`${format}: stripping twice changes nothing more`, async (t) => {
    const dir = await tempDir(t)
    const input = await picture(dir, format)
    await writeTags(input, CAMERA_METADATA)
    const once = await strip(await readFile(input), MEDIA_TYPE[format])
    t.ok((await strip(once, MEDIA_TYPE[format])).equals(once))
  })
}
