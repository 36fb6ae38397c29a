// sharp (libvips and its libraries, ~10 MiB of RSS once loaded) is loaded on
// the first image job rather than at start: a process that serves downloads
// and never makes a preview does not carry it. At start the engine only
// checks that the package resolves (sharpInstalled), so a missing install
// still stops the service then; a broken native binary rejects the first
// job, which the caller logs as an error (it is not an image's fault).
import type SharpModule from 'sharp'

export type SharpFactory = typeof SharpModule

let loading: Promise<SharpFactory> | undefined

/**
 * sharp, bounded once per process: no operation cache (its default 50 MiB
 * of decoded images would be kept between unrelated jobs) and one libvips
 * thread per image, the pool deciding how many images run at once. Each
 * running job also takes one thread of libuv's pool, which fs and dns share:
 * keep UV_THREADPOOL_SIZE (default 4) above the concurrency.
 */
export function loadSharp (): Promise<SharpFactory> {
  loading ??= import('sharp').then(({ default: sharp }) => {
    sharp.cache(false)
    sharp.concurrency(1)
    return sharp
  }, (err: unknown) => {
    loading = undefined
    throw err
  })
  return loading
}

/** Throws (ERR_MODULE_NOT_FOUND) when sharp is not installed; loads nothing. */
export function sharpInstalled (): void {
  import.meta.resolve('sharp')
}
