// The one bounded pool all image work goes through: at most `concurrency`
// jobs run at once, at most `queueMax` wait, and anything beyond is refused
// at once with PreviewBusyError (503), so a burst never turns into unbounded
// memory or latency. Each running job has a time limit: at the deadline its
// AbortSignal fires and its caller gets PreviewTimeoutError, but the slot
// stays taken until the job has really stopped (its decoder worker is
// terminated, sharp's own timeout ends libvips), so the limit on work in
// progress holds even for jobs that overrun.
import createError from '@fastify/error'

/** The pool is full: answer 503 with Retry-After. */
export const PreviewBusyError = createError('ATT_PREVIEW_BUSY', 'Image processing is at capacity, try again later', 503)
/** A job ran past its time limit. */
export const PreviewTimeoutError = createError('ATT_PREVIEW_TIMEOUT', 'Image processing took longer than %d ms', 503)

export interface ImagePoolOptions {
  /** Jobs running at once (>= 1). */
  concurrency: number
  /** Jobs waiting for a slot (>= 0); one more is refused with PreviewBusyError. */
  queueMax: number
  /** Time limit of one job, counted from its start (not from when it was queued). */
  timeoutMs: number
}

export interface JobContext {
  /** Fires at the deadline or when the caller gives up; the job must stop. */
  signal: AbortSignal
  /** Date.now() value at which the job's time is up. */
  deadline: number
}

export interface RunOptions {
  /** The caller no longer wants the result: a queued job leaves the queue, a running one is aborted. */
  signal?: AbortSignal
  /** Overrides the pool's time limit for this job. */
  timeoutMs?: number
}

export interface PoolStats {
  running: number
  queued: number
  concurrency: number
  queueMax: number
}

interface Pending {
  start: () => void
  cancel: (reason: unknown) => void
}

export class ImagePool {
  readonly #options: ImagePoolOptions
  readonly #queue: Pending[] = []
  readonly #settled = new Set<Promise<unknown>>()
  #running = 0
  #closed = false

  constructor (options: ImagePoolOptions) {
    if (!(options.concurrency >= 1) || !(options.queueMax >= 0) || !(options.timeoutMs > 0)) {
      throw new RangeError('ImagePool needs concurrency >= 1, queueMax >= 0 and timeoutMs > 0')
    }
    this.#options = { ...options }
  }

  /**
   * Runs `job` when a slot is free. Rejects at once with PreviewBusyError
   * when every slot is taken and the queue is full, with PreviewTimeoutError
   * when the job outlives its limit, and with the signal's reason when the
   * caller aborts.
   */
  run<T> (job: (context: JobContext) => Promise<T>, options: RunOptions = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('The image pool is closed'))
    if (options.signal?.aborted) return Promise.reject(options.signal.reason)
    return new Promise<T>((resolve, reject) => {
      const start = () => { this.#start(job, options, resolve, reject) }
      if (this.#running < this.#options.concurrency) {
        start()
        return
      }
      if (this.#queue.length >= this.#options.queueMax) {
        reject(new PreviewBusyError())
        return
      }
      const onAbort = () => { this.#remove(pending); reject(options.signal?.reason) }
      const pending: Pending = {
        start: () => { options.signal?.removeEventListener('abort', onAbort); start() },
        cancel: (reason) => { options.signal?.removeEventListener('abort', onAbort); reject(reason) }
      }
      options.signal?.addEventListener('abort', onAbort, { once: true })
      this.#queue.push(pending)
    })
  }

  stats (): PoolStats {
    return {
      running: this.#running,
      queued: this.#queue.length,
      concurrency: this.#options.concurrency,
      queueMax: this.#options.queueMax
    }
  }

  /** Refuses new jobs, rejects queued ones, and waits until running ones have stopped. */
  async close (): Promise<void> {
    this.#closed = true
    for (const pending of this.#queue.splice(0)) pending.cancel(new Error('The image pool is closed'))
    await Promise.allSettled([...this.#settled])
  }

  #remove (pending: Pending): void {
    const index = this.#queue.indexOf(pending)
    if (index >= 0) this.#queue.splice(index, 1)
  }

  #start<T> (job: (context: JobContext) => Promise<T>, options: RunOptions, resolve: (value: T) => void, reject: (reason: unknown) => void): void {
    this.#running += 1
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs
    const controller = new AbortController()
    let done = false
    const finish = (settle: () => void) => {
      if (done) return
      done = true
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      settle()
    }
    const onAbort = () => {
      controller.abort(options.signal?.reason)
      finish(() => reject(options.signal?.reason))
    }
    const timer = setTimeout(() => {
      const error = new PreviewTimeoutError(timeoutMs)
      controller.abort(error)
      finish(() => reject(error))
    }, timeoutMs)
    options.signal?.addEventListener('abort', onAbort, { once: true })

    let work: Promise<T>
    try {
      work = job({ signal: controller.signal, deadline: Date.now() + timeoutMs })
    } catch (err) {
      work = Promise.reject(err)
    }
    const settled: Promise<unknown> = work.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err))
    ).finally(() => {
      // The slot is free only now that the job has stopped, timed out or not.
      this.#settled.delete(settled)
      this.#running -= 1
      this.#queue.shift()?.start()
    })
    this.#settled.add(settled)
  }
}
