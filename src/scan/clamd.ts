// A client of clamd's documented protocol (man 8 clamd, "INSTREAM", "PING").
// One scan is one connection, over TCP or a unix socket:
//
//   client: "zINSTREAM\0", chunks of <uint32 big-endian length><bytes>, then a
//           zero-length chunk (four zero bytes) to end the stream
//   clamd:  "stream: OK\0" | "stream: <signature> FOUND\0" | "<reason> ERROR\0",
//           then closes
//
// clamd answers before the end of the stream only to refuse it ("INSTREAM
// size limit exceeded. ERROR" once StreamMaxLength is passed), so an early
// answer is never a verdict. A zero-length chunk ends the stream, so empty
// writes are skipped: sent, they would leave the rest of the file unscanned.
//
// SCAN_TIMEOUT_MS bounds the total time a scan spends waiting on clamd: a
// write held up because clamd does not read (connecting, or a stopped clamd
// whose socket buffers are full) and the wait for the verdict after the last
// byte. Time spent waiting for the uploader's next bytes is not counted, so a
// slow client on a slow network is not failed by a healthy clamd. (clamd's
// own ReadTimeout, 120 s by default, bounds the gap between two chunks.)
//
// Memory per session: the Writable's highWaterMark plus one chunk in the
// socket's buffer; the session waits for 'drain' before taking more.
import { connect, type Socket } from 'node:net'
import { Writable } from 'node:stream'
import { ScannerUnavailableError } from '../errors.js'
import type { ScanOptions, ScanSession, Scanner, Verdict } from './scanner.js'
import { stringField } from '../fields.js'

export type ClamdAddress = { host: string, port: number } | { path: string }

export interface ClamdOptions {
  address: ClamdAddress
  timeoutMs: number
  /** Bytes a session buffers before write() asks the writer to wait (default 64 KiB). */
  highWaterMark?: number
}

const INSTREAM = Buffer.from('zINSTREAM\0')
const PING = Buffer.from('zPING\0')
const END_OF_STREAM = Buffer.alloc(4)
// Replies are one short line; anything longer is not clamd.
const MAX_REPLY_BYTES = 1024

export function createClamdScanner (options: ClamdOptions): Scanner {
  const open = new Set<{ destroy (err: Error): void }>()
  const where = 'path' in options.address ? options.address.path : `${options.address.host}:${options.address.port}`
  let closed = false

  function track<T extends { destroy (err: Error): void, once (event: 'close', listener: () => void): unknown }> (item: T): T {
    open.add(item)
    item.once('close', () => open.delete(item))
    return item
  }

  return {
    name: 'clamd',

    startScan (scanOptions = {}) {
      if (closed) throw new ScannerUnavailableError('the scanner is closed')
      return track(new ClamdSession(options, where, scanOptions))
    },

    ping ({ signal } = {}) {
      if (closed) return Promise.reject(new ScannerUnavailableError('the scanner is closed'))
      return new Promise<void>((resolve, reject) => {
        const socket = track(connect(options.address))
        const reply = new ReplyReader()
        const done = (err?: Error) => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          socket.destroy()
          if (err) reject(err)
          else resolve()
        }
        const onAbort = () => done(signal?.reason instanceof Error ? signal.reason : new Error('aborted'))
        const timer = setTimeout(() => done(new ScannerUnavailableError(`no PONG from clamd at ${where} within ${options.timeoutMs} ms`)), options.timeoutMs)
        if (signal?.aborted) return onAbort()
        signal?.addEventListener('abort', onAbort, { once: true })
        socket.on('error', (err) => done(connectionError(err, where)))
        socket.on('close', () => done(new ScannerUnavailableError(`clamd at ${where} closed the connection before PONG`)))
        socket.on('data', (chunk: Buffer) => {
          try {
            const line = reply.push(chunk)
            if (line === undefined) return
            done(line === 'PONG' ? undefined : new ScannerUnavailableError(`unexpected reply to PING: ${printable(line)}`))
          } catch (err) {
            done(err as Error)
          }
        })
        socket.write(PING)
      })
    },

    async close () {
      closed = true
      for (const item of open) item.destroy(new ScannerUnavailableError('the scanner was closed'))
    }
  }
}

class ClamdSession extends Writable implements ScanSession {
  readonly #socket: Socket
  readonly #where: string
  readonly #budget: WaitBudget
  readonly #reply = new ReplyReader()
  readonly #verdict: Promise<Verdict>
  #resolve!: (verdict: Verdict) => void
  #reject!: (err: Error) => void
  #settled = false
  #ended = false
  #connected = false
  #sent = 0
  #finalCallback: ((err?: Error | null) => void) | undefined
  #signal: AbortSignal | undefined
  readonly #onAbort = () => {
    const reason: unknown = this.#signal?.reason
    this.destroy(reason instanceof Error ? reason : new Error('aborted'))
  }

  constructor (options: ClamdOptions, where: string, { signal }: ScanOptions) {
    super({ highWaterMark: options.highWaterMark ?? 64 * 1024 })
    this.#where = where
    this.#verdict = new Promise<Verdict>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    // The verdict may never be asked for (the upload failed elsewhere).
    this.#verdict.catch(() => {})
    this.#budget = new WaitBudget(options.timeoutMs, () => {
      this.destroy(new ScannerUnavailableError(`no answer from clamd at ${where} within ${options.timeoutMs} ms`))
    })

    this.#socket = connect(options.address)
    this.#socket.setNoDelay(true)
    this.#socket.write(INSTREAM)
    this.#socket.once('connect', () => { this.#connected = true })
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    this.#socket.on('error', (err) => {
      // A refusal of an over-long stream arrives as a reply or, when clamd's
      // close beats the reply, as a failed write (EPIPE, ECONNRESET).
      this.destroy(this.#connected ? this.#closedEarly(errorCode(err)) : connectionError(err, where))
    })
    this.#socket.on('close', () => {
      if (!this.#settled) this.destroy(this.#closedEarly('closed'))
    })

    if (signal) {
      this.#signal = signal
      if (signal.aborted) process.nextTick(this.#onAbort)
      else signal.addEventListener('abort', this.#onAbort, { once: true })
    }
  }

  verdict (): Promise<Verdict> {
    return this.#verdict
  }

  #closedEarly (how: string): Error {
    return new ScannerUnavailableError(`clamd at ${this.#where} ended the connection before its verdict, after ${this.#sent} bytes (${how}): ` +
      'it stopped, or the stream passed its StreamMaxLength')
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (chunk.length === 0) return callback()
    this.#sent += chunk.length
    const header = Buffer.allocUnsafe(4)
    header.writeUInt32BE(chunk.length)
    this.#socket.cork()
    this.#socket.write(header)
    const flowing = this.#socket.write(chunk)
    this.#socket.uncork()
    if (flowing) return callback()
    // clamd is not reading fast enough: this wait is clamd's, so it counts.
    this.#budget.start()
    this.#socket.once('drain', () => {
      this.#budget.stop()
      callback()
    })
  }

  override _final (callback: (err?: Error | null) => void): void {
    this.#ended = true
    this.#finalCallback = callback
    this.#budget.start()
    this.#socket.write(END_OF_STREAM)
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    this.#budget.stop()
    this.#signal?.removeEventListener('abort', this.#onAbort)
    if (!this.#settled) {
      this.#settled = true
      this.#reject(err ?? Object.assign(new Error('the scan was abandoned before its verdict'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }))
    }
    // 'close' of the session comes after the socket's own: nothing is left open.
    if (this.#socket.closed) return callback(err)
    this.#socket.once('close', () => callback(err))
    this.#socket.destroy()
  }

  #onData (chunk: Buffer): void {
    let line: string | undefined
    try {
      line = this.#reply.push(chunk)
    } catch (err) {
      this.destroy(err as Error)
      return
    }
    if (line === undefined || this.#settled) return
    this.#budget.stop()
    const verdict = this.#ended ? parseVerdict(line) : undefined
    if (!verdict) {
      this.destroy(new ScannerUnavailableError(refusal(line, this.#where)))
      return
    }
    this.#settled = true
    this.#resolve(verdict)
    this.#socket.destroy()
    this.#finalCallback?.()
  }
}

function parseVerdict (line: string): Verdict | undefined {
  if (line === 'stream: OK') return { infected: false }
  const found = /^stream: (.+) FOUND$/.exec(line)
  if (found) return { infected: true, signature: printable(found[1]!) }
  return undefined
}

function refusal (line: string, where: string): string {
  if (/size limit/i.test(line)) {
    return `clamd at ${where} refused the stream as too large (${printable(line)}); ATTACHMENT_MAX_BYTES must stay below clamd's StreamMaxLength`
  }
  return `clamd at ${where} answered ${JSON.stringify(printable(line))}`
}

function connectionError (err: Error, where: string): Error {
  if (err instanceof ScannerUnavailableError) return err
  return new ScannerUnavailableError(`cannot connect to clamd at ${where} (${errorCode(err)})`)
}

function errorCode (err: Error): string {
  return stringField(err, 'code') ?? err.message
}

/** Signature names reach clients and logs: printable ASCII, bounded. */
function printable (text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200)
}

/** Collects one NUL-terminated reply line. */
class ReplyReader {
  #buffered = ''
  #done = false

  push (chunk: Buffer): string | undefined {
    if (this.#done) return undefined
    this.#buffered += chunk.toString('latin1')
    const end = this.#buffered.indexOf('\0')
    if (end >= 0) {
      this.#done = true
      return this.#buffered.slice(0, end).trim()
    }
    if (this.#buffered.length > MAX_REPLY_BYTES) throw new ScannerUnavailableError('clamd sent an overlong reply')
    return undefined
  }
}

/**
 * A stopwatch with a deadline: runs only between start() and stop(), and
 * fires once the running time adds up to the budget.
 */
class WaitBudget {
  #remaining: number
  #since: number | undefined
  #timer: NodeJS.Timeout | undefined
  readonly #onExpired: () => void

  constructor (budgetMs: number, onExpired: () => void) {
    this.#remaining = budgetMs
    this.#onExpired = onExpired
  }

  start (): void {
    if (this.#since !== undefined) return
    this.#since = performance.now()
    this.#timer = setTimeout(this.#onExpired, Math.max(0, this.#remaining))
  }

  stop (): void {
    if (this.#since === undefined) return
    clearTimeout(this.#timer)
    this.#remaining -= performance.now() - this.#since
    this.#since = undefined
  }
}
