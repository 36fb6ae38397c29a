// The image engine's public surface; the rest of src/images is internal.
//
// At upload, on the head of the stream (PROBE_BYTES of it):
//   probeImage(head) -> { format, width, height, orientation, animated, pixels } | undefined
// After the row is written, and on a preview request that finds none:
//   createImageEngine(imageEngineOptions(config)).generate({ source, contentType, byteLength, variants })
//     -> { state: 'ready', facts, placeholder, previews } | { state: 'none' | 'failed', reason }
//     rejects with PreviewBusyError (503) when the pool is full.
export { PROBE_BYTES, probeImage, type ImageProbe } from './probe.js'
export { createImageEngine, imageEngineOptions, type GenerateOptions, type ImageEngine, type ImageEngineOptions } from './engine.js'
export type { FailedReason, GenerateOutcome, GenerateRequest, ImageFacts, NoneReason, Preview, PreviewVariant } from './generate.js'
export { fallbackFormat, imageFormatOf, PREVIEW_CONTENT_TYPES, type ImageFormat, type PreviewFormat } from './formats.js'
export { PreviewBusyError, PreviewTimeoutError, type PoolStats } from './pool.js'
