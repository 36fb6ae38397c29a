// teeToScanner feeds one upload to storage and to the scanner. What a user of
// it relies on: both get every byte, the slower one sets the pace (the source
// is never read far ahead), the storage stream ends only after a clean
// verdict, and a failure on any side fails the others.
//
// The scanner side here is a session double whose writes and verdict the test
// holds and releases, so that every interleaving is set up by construction;
// the real clamd behind the same interface is exercised in clamd.test.ts.
import { once } from 'node:events'
import { Readable, Writable } from 'node:stream'
import t from 'tap'
import { InfectedError, ScannerUnavailableError } from '../../src/errors.js'
import type { ScanSession, Verdict } from '../../src/scan/scanner.js'
import { teeToScanner } from '../../src/scan/tee.js'

const CHUNK = 16 * 1024
const TOTAL = 10 * 1024 * 1024
// Readable and Writable buffers on the way (source, tee in and out, session)
// hold a few chunks at most: far less than the file.
const READ_AHEAD_BOUND = 256 * 1024

/** A source that makes its chunks on demand and counts what was taken. */
function countingSource (total = TOTAL) {
  const state = { read: 0 }
  const stream = new Readable({
    highWaterMark: CHUNK,
    read () {
      if (state.read >= total) {
        this.push(null)
        return
      }
      const size = Math.min(CHUNK, total - state.read)
      this.push(Buffer.alloc(size, state.read / CHUNK))
      state.read += size
    }
  })
  return { stream, state }
}

/** A session whose write callbacks can be held and whose verdict the test decides. */
class HeldSession extends Writable implements ScanSession {
  received = 0
  holding = false
  #held: Array<() => void> = []
  #decide!: { resolve: (v: Verdict) => void, reject: (e: Error) => void }
  readonly #verdict = new Promise<Verdict>((resolve, reject) => { this.#decide = { resolve, reject } })

  constructor () {
    super({ highWaterMark: CHUNK })
    this.#verdict.catch(() => {})
  }

  verdict () { return this.#verdict }
  decide (verdict: Verdict) { this.#decide.resolve(verdict) }
  fail (err: Error) { this.#decide.reject(err) }

  release () {
    this.holding = false
    for (const callback of this.#held.splice(0)) callback()
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: () => void) {
    this.received += chunk.length
    if (this.holding) this.#held.push(callback)
    else callback()
  }

  override _final (callback: (err?: Error | null) => void) {
    this.#verdict.then(() => callback(), callback)
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void) {
    this.#decide.reject(err ?? new Error('destroyed'))
    callback(err)
  }
}

/** Lets every pending tick and promise run: in-memory streams are then at rest. */
async function settle () {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

async function drain (stream: Readable): Promise<{ bytes: number, error: unknown }> {
  let bytes = 0
  try {
    for await (const chunk of stream) bytes += (chunk as Buffer).length
    return { bytes, error: undefined }
  } catch (error) {
    return { bytes, error }
  }
}

t.test('both sides get every byte, and storage sees the end only after a clean verdict', async (t) => {
  const { stream: source } = countingSource(1024 * 1024)
  const session = new HeldSession()
  const output = teeToScanner(source, session)
  let ended = false
  output.on('end', () => { ended = true })
  const result = drain(output)
  await settle()
  t.equal(session.received, 1024 * 1024, 'the scanner got the whole file')
  t.equal(ended, false, 'no end for storage while the verdict is pending')
  session.decide({ infected: false })
  t.same(await result, { bytes: 1024 * 1024, error: undefined }, 'storage got the whole file, then the end')
  t.same(await session.verdict(), { infected: false }, 'the verdict can still be awaited afterwards')
})

t.test('storage paused: the source is not read ahead beyond a few buffers', async (t) => {
  const { stream: source, state } = countingSource()
  const session = new HeldSession()
  const output = teeToScanner(source, session)
  output.pause()
  await settle()
  t.ok(state.read > 0, 'reading started')
  t.ok(state.read <= READ_AHEAD_BOUND, `${state.read} bytes read while storage reads nothing`)
  const result = drain(output)
  session.decide({ infected: false })
  t.same(await result, { bytes: TOTAL, error: undefined }, 'everything flows once storage reads')
  t.equal(session.received, TOTAL)
})

t.test('scanner paused: the source is not read ahead beyond a few buffers', async (t) => {
  const { stream: source, state } = countingSource()
  const session = new HeldSession()
  session.holding = true
  const output = teeToScanner(source, session)
  let delivered = 0
  output.on('data', (chunk: Buffer) => { delivered += chunk.length })
  await settle()
  t.ok(state.read <= READ_AHEAD_BOUND, `${state.read} bytes read while the scanner takes nothing`)
  t.ok(delivered <= READ_AHEAD_BOUND, `storage got ${delivered} bytes, not ahead of the scanner`)
  const ended = once(output, 'end')
  session.release()
  await settle()
  session.decide({ infected: false })
  await ended
  t.equal(delivered, TOTAL, 'everything flows once the scanner reads')
  t.equal(session.received, TOTAL)
})

t.test('an infected verdict fails storage\'s stream with InfectedError, without an end', async (t) => {
  const { stream: source } = countingSource(100_000)
  const session = new HeldSession()
  const output = teeToScanner(source, session)
  let ended = false
  output.on('end', () => { ended = true })
  const result = drain(output)
  await settle()
  session.decide({ infected: true, signature: 'Test.Sig' })
  const { error } = await result
  t.type(error, InfectedError)
  t.match(error, { statusCode: 422, code: 'ATT_INFECTED', message: /Test\.Sig/ })
  t.equal(ended, false, 'storage never saw the end of the file')
})

t.test('a scan that cannot finish fails storage\'s stream with the scanner\'s error', async (t) => {
  const { stream: source } = countingSource(100_000)
  const session = new HeldSession()
  const output = teeToScanner(source, session)
  const result = drain(output)
  await settle()
  session.fail(new ScannerUnavailableError('no answer'))
  const { error } = await result
  t.type(error, ScannerUnavailableError)
  t.match(error, { statusCode: 503, code: 'ATT_SCANNER_UNAVAILABLE' })
})

t.test('a source error fails storage\'s stream and destroys the session', async (t) => {
  const { stream: source, state } = countingSource()
  const session = new HeldSession()
  // Held, so the source is mid-file when it fails.
  session.holding = true
  const output = teeToScanner(source, session)
  const result = drain(output)
  await settle()
  t.ok(state.read < TOTAL, 'the source is mid-file')
  const boom = new Error('client hung up')
  source.destroy(boom)
  t.equal((await result).error, boom, 'storage sees the source\'s error')
  await settle()
  t.equal(session.destroyed, true, 'the session is destroyed')
  await t.rejects(session.verdict(), boom, 'its verdict fails with the same error')
})

t.test('a session error mid-stream fails storage\'s stream and destroys the source', async (t) => {
  const { stream: source } = countingSource()
  const session = new HeldSession()
  session.holding = true
  const output = teeToScanner(source, session)
  const result = drain(output)
  await settle()
  const down = new ScannerUnavailableError('clamd went away')
  session.destroy(down)
  t.equal((await result).error, down)
  await settle()
  t.equal(source.destroyed, true, 'the source is destroyed')
})

t.test('a session destroyed without an error still fails storage\'s stream', async (t) => {
  const { stream: source } = countingSource()
  const session = new HeldSession()
  session.holding = true
  const output = teeToScanner(source, session)
  const result = drain(output)
  await settle()
  session.destroy()
  t.match((await result).error, { code: 'ERR_STREAM_PREMATURE_CLOSE' })
  await settle()
  t.equal(source.destroyed, true, 'the source is destroyed')
})

t.test('storage giving up destroys the source and the session', async (t) => {
  const { stream: source } = countingSource()
  const session = new HeldSession()
  const output = teeToScanner(source, session)
  const failed = once(output, 'error')
  output.once('data', () => output.destroy(new Error('S3 failed')))
  t.match(await failed, [{ message: 'S3 failed' }])
  await settle()
  t.equal(source.destroyed, true, 'the source is destroyed')
  t.equal(session.destroyed, true, 'the session is destroyed')
  await t.rejects(session.verdict(), /S3 failed/)
})
