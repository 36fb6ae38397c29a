// The image engine: the one entry point the service uses for image work.
//
//   const images = createImageEngine(imageEngineOptions(config))
//   const outcome = await images.generate({
//     source: (signal) => storage.get(key, { signal }).then((o) => o.body),
//     contentType: row.contentType, byteLength: row.size,
//     variants: [{ size: 320, format: 'webp' }, { size: 1280, format: 'webp' }]
//   })
//   // outcome.state: 'ready' (previews, placeholder, facts) | 'none' | 'failed'
//   await images.close()
//
// Every job runs in one bounded ImagePool; a full pool rejects generate()
// at once with PreviewBusyError (503: answer with Retry-After). The event
// loop never decodes: sharp works on libuv's thread pool, HEIC in workers.
//
// Memory: a job holds ~20-60 MiB for a 12 MP photo (generate.ts), a HEIC
// decode ~105 MiB more while its worker runs, and HEIC decodes run one at a
// time. Worst case: concurrency x (original + its decode) + one HEIC worker,
// growing with the pixel count up to IMAGE_MAX_PIXELS; a waiting job holds
// only its request. On glibc, run with MALLOC_ARENA_MAX=2 (the Dockerfile
// does): libvips' threads otherwise leave freed memory in per-thread arenas.
import { MAX_PREVIEW_SIZE, previewConcurrency, previewSizes, type Config } from '../config.js'
import { generate, type GenerateOutcome, type GenerateRequest } from './generate.js'
import { HeicDecoder } from './heic-decoder.js'
import { ImagePool, PreviewTimeoutError, type PoolStats } from './pool.js'
import { sharpInstalled } from './sharp.js'

export interface ImageEngineOptions {
  /** PREVIEW_SIZES: the only sizes generate() accepts. */
  sizes: readonly number[]
  /** PREVIEW_MAX_FRAMES */
  maxFrames: number
  /** IMAGE_MAX_PIXELS */
  maxPixels: number
  /** Largest original read into memory (ATTACHMENT_MAX_BYTES); larger ones get none/too_large. */
  maxInputBytes: number
  /** PREVIEW_CONCURRENCY (resolved: >= 1) */
  concurrency: number
  /** PREVIEW_QUEUE_MAX */
  queueMax: number
  /** PREVIEW_TIMEOUT_MS */
  timeoutMs: number
  /** HEIC decoder workers at once (default 1: each needs ~105 MiB for 12 MP). */
  heicWorkers?: number
}

export function imageEngineOptions (config: Pick<Config, 'PREVIEW_SIZES' | 'PREVIEW_MAX_FRAMES' | 'IMAGE_MAX_PIXELS' |
'ATTACHMENT_MAX_BYTES' | 'PREVIEW_CONCURRENCY' | 'PREVIEW_QUEUE_MAX' | 'PREVIEW_TIMEOUT_MS'>): ImageEngineOptions {
  return {
    sizes: previewSizes(config),
    maxFrames: config.PREVIEW_MAX_FRAMES,
    maxPixels: config.IMAGE_MAX_PIXELS,
    maxInputBytes: config.ATTACHMENT_MAX_BYTES,
    concurrency: previewConcurrency(config),
    queueMax: config.PREVIEW_QUEUE_MAX,
    timeoutMs: config.PREVIEW_TIMEOUT_MS
  }
}

export interface GenerateOptions {
  /** The caller no longer needs the result (a queued job is dropped, a running one stopped). */
  signal?: AbortSignal
  /** Overrides PREVIEW_TIMEOUT_MS for this job. */
  timeoutMs?: number
}

export interface ImageEngine {
  /**
   * Generates the requested previews and the placeholder of one original.
   * Resolves with the outcome (timeouts included: failed/timeout); rejects
   * with PreviewBusyError when the pool is full, with the signal's reason
   * when aborted, and with a TypeError for a size not in `sizes`.
   */
  generate: (request: GenerateRequest, options?: GenerateOptions) => Promise<GenerateOutcome>
  stats: () => PoolStats & { heicWorkers: number }
  /** Refuses new work, drops queued jobs, waits for running ones, ends the workers. */
  close: () => Promise<void>
}

export function createImageEngine (options: ImageEngineOptions): ImageEngine {
  // sharp itself is loaded by the first job (sharp.ts); a missing install fails here.
  sharpInstalled()
  const pool = new ImagePool({ concurrency: options.concurrency, queueMax: options.queueMax, timeoutMs: options.timeoutMs })
  const heic = new HeicDecoder({ maxWorkers: options.heicWorkers ?? 1 })
  const sizes = new Set(options.sizes)
  const limits = { maxPixels: options.maxPixels, maxFrames: options.maxFrames, maxInputBytes: options.maxInputBytes }

  return {
    async generate (request, generateOptions = {}) {
      if (request.variants.length === 0) throw new TypeError('generate() needs at least one variant')
      for (const { size } of request.variants) {
        if (!sizes.has(size) || size > MAX_PREVIEW_SIZE) throw new TypeError(`Preview size ${size} is not one of ${[...sizes].join(', ')}`)
      }
      let started = false
      try {
        return await pool.run(({ signal, deadline }) => {
          started = true
          return generate(request, limits, heic, signal, deadline)
        }, generateOptions)
      } catch (err) {
        // A stream handed over for a job that never ran must not keep its socket.
        if (!started && typeof request.source !== 'function') request.source.destroy()
        if (err instanceof PreviewTimeoutError) return { state: 'failed', reason: 'timeout' }
        throw err
      }
    },
    stats: () => ({ ...pool.stats(), heicWorkers: heic.stats().workers }),
    async close () {
      await pool.close()
      await heic.close()
    }
  }
}
