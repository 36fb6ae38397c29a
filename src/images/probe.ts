// Image facts from the first bytes of a file, without decoding: meant for
// the head of an upload while it streams (PROBE_BYTES of it). image-size
// reads the stored width and height of JPEG, PNG, GIF, WebP, TIFF and BMP;
// what it lacks is written here: the EXIF orientation (JPEG APP1, TIFF
// IFD0, PNG eXIf, WebP EXIF), animation (APNG acTL, a second GIF image,
// the WebP VP8X flag) and HEIF/AVIF, whose size and orientation come from
// the primary item's properties (heif-boxes.ts).
import { imageSize } from 'image-size'
import { exifOrientation, exifPayload } from './exif.js'
import type { ImageFormat } from './formats.js'
import { readHeifPrimary } from './heif-boxes.js'
import { orientationOfTransforms, swapsDimensions } from './orientation.js'

/**
 * How much of a file's start the probe wants. JPEG puts its size (SOF) after
 * the APP segments: EXIF with its thumbnail (up to 64 KiB), ICC profiles
 * and XMP, extended XMP included, can take a few 64 KiB segments before it.
 * 256 KiB covers that with room, also finds a second GIF frame in most
 * animations and the meta box of any HEIC, and costs one buffer per upload
 * in flight next to the ~25 MiB an upload already holds.
 */
export const PROBE_BYTES = 256 * 1024

export interface ImageProbe {
  format: ImageFormat
  /** As displayed: after the EXIF orientation (HEIF: irot/imir) is applied. */
  width: number
  height: number
  /** EXIF orientation 1-8 (for HEIF, the one its irot/imir amount to); 1 when absent. */
  orientation: number
  /** True when the head shows animation: an APNG, an animated WebP, a second GIF frame, a HEIF sequence. */
  animated: boolean
  /** width x height of one frame: what IMAGE_MAX_PIXELS is compared with. */
  pixels: number
}

const IMAGE_SIZE_FORMATS: Readonly<Record<string, ImageFormat>> = {
  jpg: 'jpeg', png: 'png', gif: 'gif', webp: 'webp', tiff: 'tiff', bmp: 'bmp'
}

/**
 * The facts of an image from its first bytes, or undefined when they are
 * not a supported raster image or do not reach its size (truncated, or the
 * size comes later in the file). Never throws.
 */
export function probeImage (head: Uint8Array): ImageProbe | undefined {
  const heif = probeHeif(head)
  if (heif) return heif
  let size
  try {
    // A copy with an ArrayBuffer of its own: image-size reads through
    // DataViews over input.buffer without bounding them by the input's
    // length, so on a truncated head (a subarray of Node's pooled buffers)
    // it would read the bytes that follow in memory instead of failing.
    size = imageSize(new Uint8Array(head))
  } catch {
    return undefined
  }
  const format = IMAGE_SIZE_FORMATS[size.type ?? '']
  if (!format || !(size.width > 0) || !(size.height > 0)) return undefined
  let orientation = 1
  let animated = false
  if (format === 'jpeg') orientation = jpegOrientation(head) ?? 1
  if (format === 'tiff') orientation = exifOrientation(head) ?? 1
  if (format === 'png') ({ orientation, animated } = pngFacts(head))
  if (format === 'webp') ({ orientation, animated } = webpFacts(head))
  if (format === 'gif') animated = gifFrames(head) > 1
  return facts(format, size.width, size.height, orientation, animated)
}

function facts (format: ImageFormat, width: number, height: number, orientation: number, animated: boolean): ImageProbe {
  const swap = swapsDimensions(orientation)
  return {
    format,
    width: swap ? height : width,
    height: swap ? width : height,
    orientation,
    animated,
    pixels: width * height
  }
}

function probeHeif (head: Uint8Array): ImageProbe | undefined {
  const primary = readHeifPrimary(head)
  if (!primary) return undefined
  const format: ImageFormat = primary.codec === 'hvc1' ? 'heic' : primary.codec === 'av01' ? 'avif' : 'heif'
  return facts(format, primary.width, primary.height, orientationOfTransforms(primary.transforms), primary.sequence)
}

/** Orientation from the APP1 "Exif" segment before the first frame header. */
function jpegOrientation (data: Uint8Array): number | undefined {
  let at = 2
  while (at + 4 <= data.length) {
    if (data[at] !== 0xff) return undefined
    const marker = data[at + 1]!
    // Fill bytes, then standalone markers without a length.
    if (marker === 0xff) { at += 1; continue }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { at += 2; continue }
    // Start of scan or a frame header: EXIF would have come before.
    if (marker === 0xda || (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)) return undefined
    const length = (data[at + 2]! << 8) | data[at + 3]!
    const end = at + 2 + length
    if (marker === 0xe1 && end <= data.length) {
      const segment = data.subarray(at + 4, end)
      const payload = exifPayload(segment)
      if (payload !== segment) return exifOrientation(payload)
    }
    at = end
  }
  return undefined
}

/** APNG (acTL before IDAT, more than one frame) and the eXIf orientation. */
function pngFacts (data: Uint8Array): { orientation: number, animated: boolean } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let orientation = 1
  let animated = false
  for (let at = 8; at + 8 <= data.length;) {
    const length = view.getUint32(at)
    const type = String.fromCharCode(...data.subarray(at + 4, at + 8))
    const body = at + 8
    if (type === 'IDAT' || type === 'IEND') break
    if (body + length > data.length) break
    if (type === 'acTL' && length >= 8) animated = view.getUint32(body) > 1
    if (type === 'eXIf') orientation = exifOrientation(exifPayload(data.subarray(body, body + length))) ?? 1
    at = body + length + 4
  }
  return { orientation, animated }
}

/** The VP8X animation flag and an EXIF chunk's orientation, when in the head. */
function webpFacts (data: Uint8Array): { orientation: number, animated: boolean } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let orientation = 1
  let animated = false
  for (let at = 12; at + 8 <= data.length;) {
    const type = String.fromCharCode(...data.subarray(at, at + 4))
    const length = view.getUint32(at + 4, true)
    const body = at + 8
    if (type === 'VP8X' && body < data.length) animated = (data[body]! & 0x02) !== 0
    if (type === 'EXIF' && body + length <= data.length) orientation = exifOrientation(exifPayload(data.subarray(body, body + length))) ?? 1
    // Chunks are padded to an even length (RIFF).
    at = body + length + (length & 1)
  }
  return { orientation, animated }
}

/** How many image descriptors the head shows (GIF89a §20), stopping at 2. */
function gifFrames (data: Uint8Array): number {
  let at = 13
  if (data.length < at) return 0
  const packed = data[10]!
  if (packed & 0x80) at += 3 * (1 << ((packed & 0x07) + 1))
  let frames = 0
  const skipSubBlocks = (from: number): number => {
    let i = from
    while (i < data.length && data[i] !== 0) i += data[i]! + 1
    return i + 1
  }
  while (at < data.length && frames < 2) {
    const introducer = data[at]
    if (introducer === 0x21) {
      at = skipSubBlocks(at + 2)
    } else if (introducer === 0x2c) {
      frames += 1
      if (at + 10 > data.length) break
      const local = data[at + 9]!
      at += 10
      if (local & 0x80) at += 3 * (1 << ((local & 0x07) + 1))
      // LZW minimum code size, then the image data sub-blocks.
      at = skipSubBlocks(at + 1)
    } else {
      break
    }
  }
  return frames
}
