// Reads an original from its stream into one buffer for the decoders, and
// lets the header decide first: as the first PROBE_BYTES arrive, `check`
// sees them after every chunk and can stop the read (a decompression bomb
// is refused as soon as its header is in, without reading the rest).
//
// Why whole: sharp takes a stream but collects it into one Buffer before
// libvips sees a byte (sharp 0.35, input.js _write/_flattenBufferIn), and
// HEIF, WebP, GIF and TIFF decoders need random access to the file anyway.
// Reading it here costs the same memory once, not twice: with the length
// known (the row's size) the buffer is allocated once and filled in place.
import type { Readable } from 'node:stream'
import { PROBE_BYTES } from './probe.js'

export type ReadResult<Stop> =
  | { done: true, data: Buffer }
  | { done: false, stop: Stop }

export interface ReadOptions<Stop> {
  /** More bytes than this stop the read with `tooLarge`. */
  maxBytes: number
  /** The expected length, when known. */
  byteLength?: number | undefined
  tooLarge: Stop
  /** Called with the head as it grows (up to PROBE_BYTES); a value stops the read. */
  check: (head: Buffer, complete: boolean) => Stop | undefined
  signal: AbortSignal
}

export async function readInput<Stop> (source: Readable, options: ReadOptions<Stop>): Promise<ReadResult<Stop>> {
  const { signal } = options
  const onAbort = () => { source.destroy(signal.reason instanceof Error ? signal.reason : undefined) }
  if (signal.aborted) onAbort()
  signal.addEventListener('abort', onAbort, { once: true })
  const exact = options.byteLength !== undefined && options.byteLength <= options.maxBytes
    ? Buffer.allocUnsafe(options.byteLength)
    : undefined
  const chunks: Buffer[] = []
  let length = 0
  let headChecked = false
  try {
    signal.throwIfAborted()
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (exact && length + chunk.length <= exact.length) {
        chunk.copy(exact, length)
      } else {
        if (exact && chunks.length === 0 && length > 0) chunks.push(exact.subarray(0, length))
        chunks.push(chunk)
      }
      length += chunk.length
      if (length > options.maxBytes) return stop(source, options.tooLarge)
      if (!headChecked) {
        const head = headOf(exact, chunks, length)
        const verdict = options.check(head, false)
        if (verdict !== undefined) return stop(source, verdict)
        headChecked = length >= PROBE_BYTES
      }
    }
    signal.throwIfAborted()
    const data = chunks.length === 0 && exact ? exact.subarray(0, length) : Buffer.concat(chunks, length)
    if (!headChecked) {
      const verdict = options.check(data, true)
      if (verdict !== undefined) return { done: false, stop: verdict }
    }
    return { done: true, data }
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

function headOf (exact: Buffer | undefined, chunks: Buffer[], length: number): Buffer {
  const size = Math.min(length, PROBE_BYTES)
  if (chunks.length === 0 && exact) return exact.subarray(0, size)
  return Buffer.concat(chunks, length).subarray(0, size)
}

function stop<Stop> (source: Readable, verdict: Stop): ReadResult<Stop> {
  source.destroy()
  return { done: false, stop: verdict }
}
