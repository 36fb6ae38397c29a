// Runs a format parser written as a generator over a byte stream. The parser
// reads like sequential code ("read 8 bytes, pass the next n, read this
// segment") and yields what it needs; the transform below feeds it the input
// as it arrives, so nothing is held except what a parser explicitly reads.
// When the parser returns, the rest of the input passes through unchanged.
import { Transform, type TransformCallback } from 'node:stream'
import { MetadataUnstrippableError } from './errors.js'

/** Bytes a parser rewrites in passing (same stream, possibly held back a little). */
export interface ByteFilter {
  /** Takes the next bytes (a private copy the filter may change) and returns what is final; the parser sends the rest when the op is over. */
  push: (data: Buffer) => Buffer[]
}

export type Op =
  /** Resumes with the next `length` bytes as a private copy; shorter only at the end of the input. */
  | { kind: 'read', length: number }
  /** Resumes with the number of bytes passed unchanged; fewer only at the end of the input. */
  | { kind: 'pass', length: number }
  /** Passes bytes until `find` returns the index (in `chunk`, from `from`) of the next byte to stop at; resumes with 1, or 0 at the end of the input. */
  | { kind: 'until', find: (chunk: Buffer, from: number) => number }
  /** Sends `length` bytes through `filter`; resumes with the count, fewer only at the end of the input. */
  | { kind: 'filter', length: number, filter: ByteFilter }

export type Resume = Buffer | number
/** A parser, or a part of one that returns a T. */
export type Step<T> = Generator<Op, T, Resume>
export type Program = Step<void>

export interface ProgramContext {
  /** Sends bytes out, in order with the passed ones. */
  emit: (...data: Buffer[]) => void
  /** Largest metadata structure a parser may hold in memory. */
  readonly maxBytes: number
  /** Counts removed GPS blocks, serial numbers and blanked XMP properties. */
  removed: number
}

const EMPTY = Buffer.alloc(0)

export function * read (length: number): Step<Buffer> {
  if (length <= 0) return EMPTY
  const got = yield { kind: 'read', length }
  return typeof got === 'number' ? EMPTY : got
}

export function * pass (length: number): Step<number> {
  if (length <= 0) return 0
  const got = yield { kind: 'pass', length }
  return typeof got === 'number' ? got : got.length
}

export function * passUntil (find: (chunk: Buffer, from: number) => number): Step<boolean> {
  return (yield { kind: 'until', find }) === 1
}

export function * filter (length: number, filter: ByteFilter): Step<number> {
  if (length <= 0) return 0
  const got = yield { kind: 'filter', length, filter }
  return typeof got === 'number' ? got : got.length
}

// A parser that keeps asking after the end of the input is a bug; stop it
// rather than spin.
const MAX_OPS_AFTER_END = 10_000

/**
 * The transform that drives one parser. Errors thrown by the parser fail the
 * stream: MetadataUnstrippableError as is (422), anything else wrapped in
 * one, so a hostile file can never surface as a 500.
 */
export class ProgramStream extends Transform {
  readonly #context: ProgramContext
  readonly #start: (context: ProgramContext) => Program
  #program: Program | undefined
  #op: Op | undefined
  #done = false
  #ended = false
  #opsAfterEnd = 0
  // Progress of the current op.
  #collected: Buffer[] = []
  #collectedLength = 0
  #moved = 0

  constructor (start: (context: ProgramContext) => Program, maxBytes: number) {
    super()
    this.#start = start
    this.#context = {
      emit: (...data) => { for (const piece of data) if (piece.length > 0) this.push(piece) },
      maxBytes,
      removed: 0
    }
  }

  /** How many GPS blocks, serial numbers and XMP properties were removed so far. */
  get removed (): number {
    return this.#context.removed
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#feed(chunk)
      callback()
    } catch (err) {
      callback(unstrippable(err))
    }
  }

  override _flush (callback: TransformCallback): void {
    try {
      this.#ended = true
      if (!this.#program) this.#begin()
      while (!this.#done) this.#settle()
      callback()
    } catch (err) {
      callback(unstrippable(err))
    }
  }

  #begin (): void {
    this.#program = this.#start(this.#context)
    this.#next(undefined)
  }

  /** Resumes the parser and stores the op it asks for next. */
  #next (value: Resume | undefined): void {
    this.#collected = []
    this.#collectedLength = 0
    this.#moved = 0
    // The first next() of a generator takes no value.
    const result = value === undefined ? this.#program!.next() : this.#program!.next(value)
    if (result.done) {
      this.#done = true
      this.#op = undefined
    } else {
      this.#op = result.value
    }
  }

  /** At the end of the input: answers the current op with what there is. */
  #settle (): void {
    if (++this.#opsAfterEnd > MAX_OPS_AFTER_END) throw new Error('parser did not stop at the end of the input')
    const op = this.#op!
    if (op.kind === 'read') this.#next(Buffer.concat(this.#collected))
    else if (op.kind === 'until') this.#next(0)
    else this.#next(this.#moved)
  }

  #feed (chunk: Buffer): void {
    if (!this.#program) this.#begin()
    let at = 0
    while (at < chunk.length) {
      const op = this.#op
      if (this.#done || op === undefined) {
        this.push(at === 0 ? chunk : chunk.subarray(at))
        return
      }
      if (op.kind === 'read') {
        const take = Math.min(op.length - this.#collectedLength, chunk.length - at)
        this.#collected.push(chunk.subarray(at, at + take))
        this.#collectedLength += take
        at += take
        // Buffer.concat copies, so the parser may change what it read.
        if (this.#collectedLength === op.length) this.#next(Buffer.concat(this.#collected, op.length))
      } else if (op.kind === 'pass') {
        const take = Math.min(op.length - this.#moved, chunk.length - at)
        this.push(chunk.subarray(at, at + take))
        this.#moved += take
        at += take
        if (this.#moved === op.length) this.#next(op.length)
      } else if (op.kind === 'filter') {
        const take = Math.min(op.length - this.#moved, chunk.length - at)
        this.#context.emit(...op.filter.push(Buffer.from(chunk.subarray(at, at + take))))
        this.#moved += take
        at += take
        if (this.#moved === op.length) this.#next(op.length)
      } else {
        const found = op.find(chunk, at)
        const stop = found < 0 ? chunk.length : found
        if (stop > at) this.push(chunk.subarray(at, stop))
        at = stop
        if (found >= 0) this.#next(1)
      }
    }
  }
}

function unstrippable (err: unknown): Error {
  if (err instanceof MetadataUnstrippableError) return err
  return new MetadataUnstrippableError('its metadata could not be read', { cause: err })
}
