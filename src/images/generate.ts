// One generation: an original's bytes in; its previews, ThumbHash
// placeholder and decoded facts out. Runs inside an ImagePool slot (engine.ts).
//
// 1. The stream is read into one buffer (read-input.ts); the header decides
//    first: more than maxPixels (probe, then sharp's header-only metadata())
//    is `none/too_many_pixels` before any pixel is allocated.
// 2. HEVC-coded HEIF decodes in a WebAssembly worker (heic-decoder.ts) into
//    an uncompressed TIFF with its ICC profile; everything else goes to
//    sharp as is, with limitInputPixels = maxPixels.
// 3. One decode: sharp orients (EXIF) *before* resizing, converts to sRGB
//    and renders the largest requested size as raw pixels; every preview and
//    the placeholder come from that small render. Animated sources get their
//    animated WebP from a second, frame-by-frame pass.
//
// Outputs carry no EXIF, XMP, IPTC or ICC: sharp writes none unless asked
// (keepMetadata/withMetadata/keepIccProfile are never called). No ICC is
// needed: the pixels are sRGB, which browsers assume for untagged images.
//
// Memory of one job, for a 12 MP photo: the original (3-6 MiB as a phone's
// JPEG or HEIC, at most maxInputBytes), libvips' decode of it (JPEG:
// shrink-on-load, ~10 MiB, a progressive one ~40 MiB; PNG/TIFF: strips;
// WebP/AVIF: the whole frame, ~36-50 MiB), the raw render at the largest
// size (1280 x 960 x 4 = 4.7 MiB) and the encoded previews (< 1 MiB). A HEIC
// adds its decoder worker, ~105 MiB at its peak (heic-decoder.ts). All of it
// grows with the pixel count, which IMAGE_MAX_PIXELS bounds. bench/previews.ts
// measures the whole: 20 photos at once on 2 CPUs, ~170-205 MiB above idle.
import type { Readable } from 'node:stream'
import type { Sharp } from 'sharp'
import { rgbaToThumbHash } from 'thumbhash'
import { fallbackFormat, imageFormatOf, PREVIEW_CONTENT_TYPES, type ImageFormat, type PreviewFormat } from './formats.js'
import type { HeicDecoder } from './heic-decoder.js'
import { readHeifPrimary } from './heif-boxes.js'
import { probeImage } from './probe.js'
import { readInput } from './read-input.js'
import { loadSharp } from './sharp.js'

export interface PreviewVariant {
  /** One of the configured sizes: the preview fits in size x size. */
  size: number
  /** 'fallback': PNG when the image has transparency, else JPEG. */
  format: PreviewFormat | 'fallback'
}

export interface GenerateRequest {
  /** The original's bytes; a function is called only when the job starts (a queued job holds no stream). */
  source: Readable | ((signal: AbortSignal) => Readable | Promise<Readable>)
  /** The type detected at upload (e.g. image/heic). */
  contentType: string
  /** The original's length, when known: its buffer is then allocated once. */
  byteLength?: number
  variants: readonly PreviewVariant[]
  /** Compute the ThumbHash placeholder (default true). */
  placeholder?: boolean
}

export interface Preview {
  size: number
  format: PreviewFormat
  contentType: string
  width: number
  height: number
  byteLength: number
  data: Buffer
}

export interface ImageFacts {
  format: ImageFormat
  /** As displayed (orientation applied). */
  width: number
  height: number
  animated: boolean
  /** Some pixel is not fully opaque. */
  hasAlpha: boolean
  /** Frames decoded (1 for stills; an APNG's animation is not decoded). */
  frames: number
}

export type NoneReason = 'too_many_pixels' | 'too_large' | 'unsupported_format'
export type FailedReason = 'undecodable' | 'timeout'

export type GenerateOutcome =
  | { state: 'ready', facts: ImageFacts, placeholder: string | null, previews: Preview[] }
  | { state: 'none', reason: NoneReason }
  | { state: 'failed', reason: FailedReason }

export interface GenerateLimits {
  maxPixels: number
  maxFrames: number
  maxInputBytes: number
}

type Stop = { state: 'none', reason: NoneReason }

const NONE = (reason: NoneReason): Stop => ({ state: 'none', reason })
const WEBP = { quality: 80, effort: 4 } as const
const JPEG = { quality: 80, progressive: true } as const
const PNG = { compressionLevel: 6 } as const

/** sharp's message when an image is over limitInputPixels. */
const PIXEL_LIMIT = /exceeds pixel limit/i

export async function generate (request: GenerateRequest, limits: GenerateLimits, heic: HeicDecoder, signal: AbortSignal, deadline: number): Promise<GenerateOutcome> {
  const maxSize = Math.max(...request.variants.map((v) => v.size))
  const source = typeof request.source === 'function' ? await request.source(signal) : request.source
  const read = await readInput<Stop>(source, {
    maxBytes: limits.maxInputBytes,
    byteLength: request.byteLength,
    tooLarge: NONE('too_large'),
    signal,
    check: (head, complete) => {
      const probe = probeImage(head)
      if (probe && probe.pixels > limits.maxPixels) return NONE('too_many_pixels')
      if (complete && !probe && !imageFormatOf(request.contentType)) return NONE('unsupported_format')
      return undefined
    }
  })
  if (!read.done) return read.stop
  const data = read.data
  const probe = probeImage(data.subarray(0, 1 << 18))
  const format = probe?.format ?? imageFormatOf(request.contentType)
  // sharp's prebuilt libvips has no BMP loader.
  if (!format || format === 'bmp') return NONE('unsupported_format')

  // Outside the try below: sharp failing to load is the service's fault,
  // not the image's, and must not be recorded as an undecodable image.
  const sharp = await loadSharp()
  const seconds = () => Math.max(1, Math.ceil((deadline - Date.now()) / 1000))
  try {
    let input: Buffer = data
    let decoded: { width: number, height: number } | undefined
    const heif = format === 'heic' || format === 'heif' ? readHeifPrimary(data) : undefined
    if (heif?.codec === 'hvc1') {
      const result = await heic.decode(data, { minLongEdge: maxSize, icc: heif.colour.icc, signal })
      input = result.tiff
      decoded = { width: result.width, height: result.height }
    }
    signal.throwIfAborted()

    const options = { limitInputPixels: limits.maxPixels, failOn: 'error' } as const
    const meta = await sharp(input, options).metadata()
    const frameHeight = meta.pageHeight ?? meta.height
    if (!decoded && meta.width * frameHeight > limits.maxPixels) return NONE('too_many_pixels')
    const pages = meta.pages ?? 1
    const displayed = decoded ?? meta.autoOrient
    const animate = pages > 1 && pages <= limits.maxFrames && meta.width * frameHeight * pages <= limits.maxPixels &&
      (meta.orientation ?? 1) === 1 && (format === 'gif' || format === 'webp')

    // The one decode of the first (or only) frame, oriented, in sRGB, at the largest size.
    const render = await sharp(input, { ...options, pages: 1 })
      .timeout({ seconds: seconds() })
      .autoOrient()
      .resize(maxSize, maxSize, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true })
    signal.throwIfAborted()
    const { info } = render
    const hasAlpha = info.channels === 4 && hasTransparency(render.data)
    const still = () => {
      const image = sharp(render.data, { raw: { width: info.width, height: info.height, channels: info.channels } })
      return info.channels === 4 && !hasAlpha ? image.removeAlpha() : image
    }

    const previews: Preview[] = []
    for (const variant of request.variants) {
      const format = variant.format === 'fallback' ? fallbackFormat(hasAlpha) : variant.format
      const image = animate && format === 'webp'
        ? sharp(input, { ...options, animated: true }).toColourspace('srgb')
        : still()
      image.timeout({ seconds: seconds() }).resize(variant.size, variant.size, { fit: 'inside', withoutEnlargement: true })
      const { data: bytes, info: out } = await encode(image, format).toBuffer({ resolveWithObject: true })
      signal.throwIfAborted()
      previews.push({
        size: variant.size,
        format,
        contentType: PREVIEW_CONTENT_TYPES[format],
        width: out.width,
        // Animated output reports the height of all frames stacked.
        height: out.pageHeight ?? out.height,
        byteLength: bytes.length,
        data: bytes
      })
    }

    const placeholder = request.placeholder === false ? null : await thumbHash(still())
    return {
      state: 'ready',
      facts: {
        format,
        width: displayed.width,
        height: displayed.height,
        animated: (probe?.animated ?? false) || pages > 1,
        hasAlpha,
        frames: pages
      },
      placeholder,
      previews
    }
  } catch (err) {
    signal.throwIfAborted()
    const message = (err as Error).message ?? ''
    if (PIXEL_LIMIT.test(message)) return NONE('too_many_pixels')
    if (/^timeout/i.test(message)) return { state: 'failed', reason: 'timeout' }
    // libvips' and libheif's errors for corrupt, truncated or unsupported
    // data (HeicDecodeError included); the original still downloads.
    return { state: 'failed', reason: 'undecodable' }
  }
}

function encode (image: Sharp, format: PreviewFormat): Sharp {
  if (format === 'webp') return image.webp(WEBP)
  if (format === 'jpeg') return image.jpeg(JPEG)
  return image.png(PNG)
}

/** Whether any alpha byte of 4-channel pixels is below 255. */
function hasTransparency (rgba: Buffer): boolean {
  for (let i = 3; i < rgba.length; i += 4) {
    if (rgba[i] !== 255) return true
  }
  return false
}

/** ThumbHash (thumbhash package) of a render at most 100 x 100, as base64. */
async function thumbHash (image: Sharp): Promise<string> {
  const { data, info } = await image
    .resize(100, 100, { fit: 'inside', withoutEnlargement: true })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64')
}
