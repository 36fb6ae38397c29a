// Image fixtures built in the tests: pixels with a known layout, real files
// written by sharp, Debian's exiftool (EXIF in and out, an independent
// reader) and libheif's heif-enc (HEVC-coded HEIC).
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { crc32, deflateSync } from 'node:zlib'
import sharp from 'sharp'
import { encodePng } from './png.js'

const run = promisify(execFile)

type Rgb = [number, number, number]
export const RED: Rgb = [230, 20, 20]
export const GREEN: Rgb = [20, 200, 20]
export const BLUE: Rgb = [20, 20, 230]

interface Teardown { teardown: (fn: () => unknown) => void }

/** A temporary folder removed when the test ends, pass or fail. */
export async function tempDir (t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ca-images-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Raw RGB pixels of the "upright" test picture: the top-left quarter red,
 * the top-right quarter green, the bottom half blue. Any rotation or mirror
 * moves at least one of them.
 */
export function markerPixels (width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const colour = y >= height / 2 ? BLUE : x < width / 2 ? RED : GREEN
      data.set(colour, (y * width + x) * 3)
    }
  }
  return data
}

/** Where a viewer shows stored pixel (x, y) of a width x height image under EXIF orientation n. */
export function displayedAt (orientation: number, x: number, y: number, width: number, height: number): [number, number] {
  switch (orientation) {
    case 2: return [width - 1 - x, y]
    case 3: return [width - 1 - x, height - 1 - y]
    case 4: return [x, height - 1 - y]
    case 5: return [y, x]
    case 6: return [height - 1 - y, x]
    case 7: return [height - 1 - y, width - 1 - x]
    case 8: return [y, width - 1 - x]
    default: return [x, y]
  }
}

/**
 * Checks that decoded RGB(A) pixels show the marker picture of `width` x
 * `height` stored pixels as a viewer should display it under `orientation`:
 * samples the middle of each marker region and says where it landed.
 */
export function markerColours (pixels: { data: Buffer, width: number, height: number, channels: number }, orientation: number, width: number, height: number): Record<'red' | 'green' | 'blue', Rgb> {
  const scaleX = (pixels.width - 1) / ((orientation >= 5 ? height : width) - 1)
  const scaleY = (pixels.height - 1) / ((orientation >= 5 ? width : height) - 1)
  const sample = (x: number, y: number): Rgb => {
    const [dx, dy] = displayedAt(orientation, x, y, width, height)
    const at = (Math.round(dy * scaleY) * pixels.width + Math.round(dx * scaleX)) * pixels.channels
    return [pixels.data[at]!, pixels.data[at + 1]!, pixels.data[at + 2]!]
  }
  return {
    red: sample(Math.floor(width / 4), Math.floor(height / 4)),
    green: sample(Math.floor(width * 3 / 4), Math.floor(height / 4)),
    blue: sample(Math.floor(width / 2), Math.floor(height * 3 / 4))
  }
}

/** Whether a sampled colour is, within lossy-coding error, the expected one. */
export function near (actual: Rgb, expected: Rgb, tolerance = 40): boolean {
  return actual.every((value, i) => Math.abs(value - expected[i]!) <= tolerance)
}

/** Runs exiftool on a buffer (written to a temporary file) and returns the changed file. */
export async function exiftoolWrite (dir: string, data: Buffer, extension: string, args: string[]): Promise<Buffer> {
  const file = join(dir, `exif-${Math.random().toString(36).slice(2)}.${extension}`)
  await writeFile(file, data)
  await run('exiftool', ['-q', '-overwrite_original', ...args, file])
  return readFile(file)
}

/** Every tag exiftool finds, grouped by family-1 group ("GPS:GPSLatitude"), values as numbers where possible. */
export async function exiftoolRead (dir: string, data: Buffer, extension: string): Promise<Record<string, unknown>> {
  const file = join(dir, `read-${Math.random().toString(36).slice(2)}.${extension}`)
  await writeFile(file, data)
  const { stdout } = await run('exiftool', ['-j', '-n', '-a', '-G1', file])
  return (JSON.parse(stdout) as Array<Record<string, unknown>>)[0]!
}

/** An HEVC-coded HEIC of the given RGB(A) pixels, made by libheif's heif-enc. */
export async function heifEnc (dir: string, raw: Buffer, width: number, height: number, channels: 3 | 4 = 3): Promise<Buffer> {
  const name = Math.random().toString(36).slice(2)
  const png = join(dir, `${name}.png`)
  const heic = join(dir, `${name}.heic`)
  await sharp(raw, { raw: { width, height, channels } }).png().toFile(png)
  // ultrafast: a 12 MP encode takes seconds instead of half a minute.
  await run('heif-enc', ['-q', '60', '-p', 'preset=ultrafast', '-o', heic, png])
  return readFile(heic)
}

/** A PNG whose header declares width x height; the pixel data is a tiny, wrong IDAT. */
export function bombPng (width: number, height: number): Buffer {
  const png = encodePng(1, 1)
  png.writeUInt32BE(width, 16)
  png.writeUInt32BE(height, 20)
  // Recompute the IHDR CRC so the header itself is valid.
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29)
  return Buffer.concat([png.subarray(0, 33), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))])
}

function chunk (type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}
