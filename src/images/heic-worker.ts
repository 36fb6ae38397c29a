// Worker thread that decodes one HEIF image with libheif compiled to
// WebAssembly (libheif-js), then exits: WebAssembly memory grows to the
// decode's peak and is never given back, so each worker does a single job
// and its memory goes with it. heic-decoder.ts runs it.
//
// libheif applies the primary item's irot/imir (and clap) while decoding, so
// the pixels come out upright; the EXIF Orientation some writers also store
// is informative only (ISO/IEC 23008-12) and is not applied again.
import { createRequire } from 'node:module'
import { parentPort, workerData } from 'node:worker_threads'
import { encodeRawTiff } from './raw-tiff.js'

export interface HeicJob {
  data: Uint8Array
  /** Shrink by powers of two while the long edge stays at least this. */
  minLongEdge: number
  icc?: Uint8Array | undefined
}

export type HeicReply =
  | { ok: true, width: number, height: number, hasAlpha: boolean, tiff: ArrayBuffer }
  | { ok: false, message: string }

// The subset of libheif-js's embind API used here.
interface EnumValue { value: number }
interface Channel { id: EnumValue, width: number, height: number, stride: number, data: Uint8Array }
interface Decoded { code?: unknown, image: unknown, width: number, height: number, channels: Channel[] }
interface LibHeif {
  heif_context_alloc (): unknown
  heif_context_free (context: unknown): void
  heif_context_read_from_memory (context: unknown, data: Uint8Array): { code: EnumValue, message: string }
  heif_js_context_get_primary_image_handle (context: unknown): { code?: unknown } | null
  heif_image_handle_release (handle: unknown): void
  heif_image_handle_has_alpha_channel (handle: unknown): number
  heif_image_handle_is_premultiplied_alpha (handle: unknown): number
  heif_image_handle_get_width (handle: unknown): number
  heif_image_handle_get_height (handle: unknown): number
  heif_js_decode_image2 (handle: unknown, colorspace: EnumValue, chroma: EnumValue): Decoded | null
  heif_image_release (image: unknown): void
  heif_colorspace: { heif_colorspace_RGB: EnumValue }
  heif_chroma: { heif_chroma_interleaved_RGB: EnumValue, heif_chroma_interleaved_RGBA: EnumValue }
  heif_channel: { heif_channel_interleaved: EnumValue }
}
type Factory = (options: { instantiateWasm: (imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => unknown) => unknown }) => LibHeif

function decode (lib: LibHeif, job: HeicJob): HeicReply {
  const context = lib.heif_context_alloc()
  let handle: { code?: unknown } | null = null
  let decoded: Decoded | null = null
  try {
    const read = lib.heif_context_read_from_memory(context, job.data)
    if (read.code.value !== 0) return { ok: false, message: `libheif: ${read.message}` }
    handle = lib.heif_js_context_get_primary_image_handle(context)
    if (!handle || handle.code) return { ok: false, message: 'libheif: no primary image' }
    const hasAlpha = lib.heif_image_handle_has_alpha_channel(handle) !== 0
    const premultiplied = hasAlpha && lib.heif_image_handle_is_premultiplied_alpha(handle) !== 0
    decoded = lib.heif_js_decode_image2(handle, lib.heif_colorspace.heif_colorspace_RGB,
      hasAlpha ? lib.heif_chroma.heif_chroma_interleaved_RGBA : lib.heif_chroma.heif_chroma_interleaved_RGB)
    const channel = decoded?.channels?.find((c) => c.id.value === lib.heif_channel.heif_channel_interleaved.value)
    if (!decoded || decoded.code || !channel) return { ok: false, message: 'libheif: the image could not be decoded' }
    // channel.data views WebAssembly memory: encodeRawTiff copies out of it
    // before the image is released.
    const { tiff } = encodeRawTiff({
      width: channel.width,
      height: channel.height,
      channels: hasAlpha ? 4 : 3,
      premultiplied,
      data: channel.data,
      stride: channel.stride
    }, { minLongEdge: job.minLongEdge, icc: job.icc })
    return { ok: true, width: channel.width, height: channel.height, hasAlpha, tiff }
  } finally {
    if (decoded?.image) lib.heif_image_release(decoded.image)
    if (handle && !handle.code) lib.heif_image_handle_release(handle)
    lib.heif_context_free(context)
  }
}

if (parentPort) {
  const port = parentPort
  const module = (workerData as { module: WebAssembly.Module }).module
  const factory = createRequire(import.meta.url)('libheif-js/libheif-wasm/libheif.js') as Factory
  // The module was compiled once by the main thread; instantiating it here
  // is synchronous, as this libheif-js build expects.
  const lib = factory({ instantiateWasm: (imports, done) => done(new WebAssembly.Instance(module, imports), module) })
  port.once('message', (job: HeicJob) => {
    let reply: HeicReply
    try {
      reply = decode(lib, job)
    } catch (err) {
      reply = { ok: false, message: `libheif: ${(err as Error).message}` }
    }
    port.postMessage(reply, reply.ok ? [reply.tiff] : [])
  })
}
