// Decodes HEVC-coded HEIF (iPhone HEIC), which sharp's prebuilt libvips
// cannot: libheif compiled to WebAssembly (libheif-js) runs in a worker
// thread, one fresh worker per image. WebAssembly memory grows to a decode's
// peak and never shrinks, so a worker that stayed would keep ~100 MiB per
// 12 MP decoded; instead each worker exits after its image (or is
// terminated when its job is aborted or times out) and its memory goes with
// it. The module is compiled once and shared, so a new worker costs an
// instantiation (tens of ms), not a compilation.
//
// Memory while one 12 MP image decodes: ~90 MiB of WebAssembly memory (the
// file, libde265's state, YCbCr planes and the RGB image) and the worker
// itself, ~105 MiB of RSS at the peak (measured, built code); what comes
// back is a ~9 MiB TIFF (see raw-tiff.ts).
// At most `maxWorkers` decode at once (default 1); other callers wait.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { HeicJob, HeicReply } from './heic-worker.js'

export interface HeicDecodeOptions {
  /** Shrink by powers of two while the long edge stays at least this (the largest preview size). */
  minLongEdge: number
  /** ICC profile of the image (heif-boxes.ts), embedded in the result so sharp converts to sRGB. */
  icc?: Uint8Array | undefined
  signal?: AbortSignal | undefined
}

export interface HeicDecoded {
  /** Size of the decoded primary image, upright (irot/imir applied). */
  width: number
  height: number
  hasAlpha: boolean
  /** Uncompressed TIFF of the (possibly shrunk) pixels, with the ICC profile. */
  tiff: Buffer
}

export class HeicDecodeError extends Error {
  override name = 'HeicDecodeError'
}

const FROM_SOURCE = extname(fileURLToPath(import.meta.url)) === '.ts'
const WORKER_URL = new URL(`./heic-worker${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url)

/**
 * Built: the compiled worker file. From source (tests, development under
 * tsx): Node 20 does not apply the parent's module hooks to a worker's entry
 * file, so a one-line bootstrap registers tsx in the worker first.
 */
function startWorker (workerData: unknown): Worker {
  const options = { workerData, stdout: true, stderr: true }
  if (!FROM_SOURCE) return new Worker(WORKER_URL, options)
  const tsx = import.meta.resolve('tsx/esm/api')
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL.href)}) })`
  return new Worker(bootstrap, { ...options, eval: true })
}

let compiled: Promise<WebAssembly.Module> | undefined
function wasmModule (): Promise<WebAssembly.Module> {
  compiled ??= readFile(createRequire(import.meta.url).resolve('libheif-js/libheif-wasm/libheif.wasm'))
    .then((bytes) => WebAssembly.compile(bytes))
  return compiled
}

export class HeicDecoder {
  readonly #maxWorkers: number
  readonly #waiting: Array<() => void> = []
  readonly #workers = new Set<Worker>()
  #active = 0

  constructor ({ maxWorkers = 1 }: { maxWorkers?: number } = {}) {
    this.#maxWorkers = maxWorkers
  }

  /** Workers alive and callers waiting for one. */
  stats (): { workers: number, waiting: number } {
    return { workers: this.#workers.size, waiting: this.#waiting.length }
  }

  async decode (data: Uint8Array, options: HeicDecodeOptions): Promise<HeicDecoded> {
    const { signal } = options
    signal?.throwIfAborted()
    await this.#acquire(signal)
    try {
      return await this.#run({ data, minLongEdge: options.minLongEdge, icc: options.icc }, signal)
    } finally {
      this.#release()
    }
  }

  /** Terminates every worker (their callers get an error). */
  async close (): Promise<void> {
    await Promise.all([...this.#workers].map((worker) => worker.terminate()))
  }

  #acquire (signal: AbortSignal | undefined): Promise<void> {
    if (this.#active < this.#maxWorkers) {
      this.#active += 1
      return Promise.resolve()
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiting.indexOf(grant)
        if (index >= 0) this.#waiting.splice(index, 1)
        reject(signal?.reason)
      }
      const grant = () => {
        signal?.removeEventListener('abort', onAbort)
        this.#active += 1
        resolve()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(grant)
    })
  }

  #release (): void {
    this.#active -= 1
    this.#waiting.shift()?.()
  }

  async #run (job: HeicJob, signal: AbortSignal | undefined): Promise<HeicDecoded> {
    const module = await wasmModule()
    signal?.throwIfAborted()
    // stdout/stderr are the worker's own: libheif's messages stay out of the service's log lines.
    const worker = startWorker({ module })
    this.#workers.add(worker)
    worker.stdout.resume()
    worker.stderr.resume()
    try {
      const reply = await new Promise<HeicReply>((resolve, reject) => {
        const onAbort = () => { reject(signal?.reason) }
        signal?.addEventListener('abort', onAbort, { once: true })
        worker.once('message', (message: HeicReply) => { signal?.removeEventListener('abort', onAbort); resolve(message) })
        worker.once('error', (err) => { signal?.removeEventListener('abort', onAbort); reject(new HeicDecodeError(err.message)) })
        worker.once('exit', (code) => { signal?.removeEventListener('abort', onAbort); reject(new HeicDecodeError(`the decoder exited (${code})`)) })
        worker.postMessage(job)
      })
      if (!reply.ok) throw new HeicDecodeError(reply.message)
      return { width: reply.width, height: reply.height, hasAlpha: reply.hasAlpha, tiff: Buffer.from(reply.tiff) }
    } finally {
      // Done, failed or aborted: the worker and its WebAssembly memory go.
      await worker.terminate()
      this.#workers.delete(worker)
    }
  }
}
