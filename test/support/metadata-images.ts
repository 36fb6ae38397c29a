// Real pictures with real camera metadata, built in a temporary folder:
// sharp encodes a small gradient with an embedded ICC profile (Display P3)
// as JPEG, PNG, WebP or AVIF; heif-enc (libheif) encodes HEIC from the PNG; then
// ExifTool writes GPS, serial numbers and XMP into them, and reads them back
// as the independent reader. Pixels are compared as decoded RGBA: sharp for
// JPEG, PNG, WebP and AVIF, heif-convert for HEIC (sharp's libheif has no HEVC).
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import sharp from 'sharp'
import { createLocationStripper, type LocationStripperOptions } from '../../src/upload/strip-location/index.js'

const run = promisify(execFile)

export type Format = 'jpeg' | 'png' | 'webp' | 'heic' | 'avif'
export const FORMATS: readonly Format[] = ['jpeg', 'png', 'webp', 'heic', 'avif']
export const MEDIA_TYPE: Record<Format, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', heic: 'image/heic', avif: 'image/avif' }
export const WIDTH = 64
export const HEIGHT = 48

interface Teardown { teardown: (fn: () => unknown) => void }

/** A fresh folder, removed when the test ends (passed, failed or timed out). */
export async function tempDir (t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strip-location-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A WIDTH x HEIGHT gradient with an embedded Display P3 ICC profile and no other metadata. */
export async function picture (dir: string, format: Format, name = 'picture'): Promise<string> {
  const raw = Buffer.alloc(WIDTH * HEIGHT * 3)
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const i = (y * WIDTH + x) * 3
      raw[i] = x * 4
      raw[i + 1] = y * 5
      raw[i + 2] = (x * y) % 256
    }
  }
  const image = sharp(raw, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } }).withIccProfile('p3')
  const path = join(dir, `${name}.${format === 'jpeg' ? 'jpg' : format}`)
  if (format === 'jpeg') await image.jpeg({ quality: 90 }).toFile(path)
  else if (format === 'webp') await image.webp({ lossless: true }).toFile(path)
  else if (format === 'png') await image.png().toFile(path)
  else if (format === 'avif') await image.avif({ quality: 60 }).toFile(path)
  else {
    const png = join(dir, `${name}-source.png`)
    await image.png().toFile(png)
    await run('heif-enc', ['-q', '90', '-o', path, png])
  }
  return path
}

// Values the tests look for, byte for byte, in the stored file.
export const SECRETS = ['SN-4711-BODY', 'LS-0815-LENS', 'CS-2342-CAM', 'Jane Roe', 'XS-1234-XMP', 'XL-5678-XMP', 'XB-9012-XMP', '48,51.498N', '2,17.67E']

/** What a phone or camera writes: a position (EXIF and XMP) and serial numbers, next to ordinary tags. */
export const CAMERA_METADATA = [
  '-IFD0:Make=Canon', '-IFD0:Model=Canon EOS R5', '-ExifIFD:DateTimeOriginal=2024:05:06 07:08:09', '-IFD0:Orientation=6',
  '-ExifIFD:ImageUniqueID=0123456789abcdef0123456789abcdef', '-XMP-dc:Title=Leaking tap',
  '-GPSLatitude=48.8583', '-GPSLatitudeRef=N', '-GPSLongitude=2.2945', '-GPSLongitudeRef=E', '-GPSAltitude=35', '-GPSAltitudeRef=0',
  '-ExifIFD:SerialNumber=SN-4711-BODY', '-ExifIFD:LensSerialNumber=LS-0815-LENS', '-IFD0:CameraSerialNumber=CS-2342-CAM', '-ExifIFD:OwnerName=Jane Roe',
  '-XMP-exif:GPSLatitude=48.8583', '-XMP-exif:GPSLongitude=2.2945', '-XMP-exif:GPSAltitude=35',
  '-XMP-aux:SerialNumber=XS-1234-XMP', '-XMP-aux:LensSerialNumber=XL-5678-XMP', '-XMP-exifEX:SerialNumber=XB-9012-XMP', '-XMP-exifEX:OwnerName=Jane Roe'
]

/** Tags that must survive, with the value ExifTool reads back (-n). */
export const KEPT_TAGS: Record<string, unknown> = {
  'IFD0:Make': 'Canon',
  'IFD0:Model': 'Canon EOS R5',
  'IFD0:Orientation': 6,
  'ExifIFD:DateTimeOriginal': '2024:05:06 07:08:09',
  'ExifIFD:ImageUniqueID': '0123456789abcdef0123456789abcdef',
  'XMP-dc:Title': 'Leaking tap',
  'ICC_Profile:ProfileDescription': 'sP3C'
}

/** Writes tags in place with ExifTool (-n: numbers as given). */
export async function writeTags (path: string, args: readonly string[]): Promise<void> {
  await run('exiftool', ['-q', '-q', '-n', '-overwrite_original', ...args, path])
}

export type Tags = Record<string, unknown>

/** Every tag ExifTool finds, by "Group1:Name" (-a -G1), numbers unconverted (-n). One run for all paths. */
export async function readTags (...paths: string[]): Promise<Tags[]> {
  const { stdout } = await run('exiftool', ['-j', '-n', '-a', '-G1', ...paths], { maxBuffer: 16 * 1024 * 1024 })
  return (JSON.parse(stdout) as Tags[]).map((tags) => Object.fromEntries(Object.entries(tags).filter(([key]) => !key.startsWith('System:') && key !== 'SourceFile')))
}

/** Tags that reveal a position or identify the device. */
export function privateTags (tags: Tags): string[] {
  return Object.keys(tags).filter((key) => /gps|serial|owner|makernote|^Canon:/i.test(key))
}

/** Decoded pixels as raw RGBA. */
export async function pixels (path: string, format: Format): Promise<Buffer> {
  let source = path
  if (format === 'heic') {
    source = `${path}.decoded.png`
    await run('heif-convert', [path, source])
  }
  return await sharp(source).ensureAlpha().raw().toBuffer()
}

/**
 * Runs bytes through the stripper, cut into chunks of the given sizes (the
 * last one repeats; default: one chunk). Resolves with the output as it was
 * when each piece came out (copied on arrival), and fails if a piece changed
 * after it was sent: downstream (hash, S3) has already used it by then.
 * Rejects with the stream's error.
 */
export async function strip (data: Buffer, contentType: string, chunkSizes: readonly number[] = [data.length], options?: LocationStripperOptions): Promise<Buffer> {
  const stripper = createLocationStripper(contentType, options)
  if (!stripper) throw new Error(`no stripper for ${contentType}`)
  const sent: Buffer[] = []
  const copies: Buffer[] = []
  stripper.on('data', (piece: Buffer) => {
    sent.push(piece)
    copies.push(Buffer.from(piece))
  })
  await pipeline(Readable.from(chunked(data, chunkSizes)), stripper)
  const received = Buffer.concat(copies)
  if (!received.equals(Buffer.concat(sent))) throw new Error('the stripper changed bytes after it had sent them')
  return received
}

/** `data` cut into pieces of the given sizes (the last size repeats). */
export function chunked (data: Buffer, sizes: readonly number[]): Buffer[] {
  const pieces: Buffer[] = []
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = Math.max(1, sizes[Math.min(i, sizes.length - 1)]!)
    pieces.push(data.subarray(at, at + size))
    at += size
  }
  return pieces
}

/** Deterministic pseudo-random chunk sizes in [1, max] (a fixed seed keeps a failure reproducible). */
export function oddSizes (count: number, max: number, seed = 7): number[] {
  let state = seed
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2147483648
    return 1 + (state % max)
  })
}
