// One upload, two readers: storage reads the stream teeToScanner returns,
// the scanner gets the same chunks through its session. No second pass and
// no copy of the file: each chunk is handed to both, and the next one is
// taken from the source only when both have room, so the slower of the two
// sets the pace. Memory held here: the Transform's two buffers (16 KiB each)
// plus the session's own (see clamd.ts).
//
// The returned stream ends only after a clean verdict. An infected file makes
// it fail with InfectedError, a scan that cannot finish with the session's
// error (ScannerUnavailableError): storage sees a failed body, so an upload
// never completes for a file that is not known to be clean (lib-storage then
// aborts its multipart upload). The caller can still await session.verdict()
// once storage is done; it has settled by then.
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream'
import { assertClean, type ScanSession } from './scanner.js'

export function teeToScanner (source: Readable, session: ScanSession): Readable {
  let waitingForDrain: (() => void) | undefined

  const onSessionError = (err: Error) => tee.destroy(err)
  const onSessionClose = () => {
    // Destroyed without an error (by its owner, or an abort): the scan will
    // never finish, so neither may the upload.
    if (!session.writableFinished && !tee.destroyed) tee.destroy(session.errored ?? prematureClose())
  }

  const tee = new Transform({
    transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      // push() may return false: Transform then holds this callback until
      // storage reads, which is how storage's pace reaches the source.
      this.push(chunk)
      if (session.write(chunk)) return callback()
      waitingForDrain = () => {
        waitingForDrain = undefined
        callback()
      }
      session.once('drain', waitingForDrain)
    },

    flush (callback: TransformCallback) {
      session.end()
      session.verdict().then((verdict) => {
        assertClean(verdict)
        callback()
      }).catch((err: Error) => callback(err))
    },

    destroy (err: Error | null, callback: (err: Error | null) => void) {
      session.off('error', onSessionError)
      session.off('close', onSessionClose)
      if (waitingForDrain) session.off('drain', waitingForDrain)
      // The session's error, if any, is already this one or is reported by
      // verdict(); it must not go unhandled.
      session.on('error', ignore)
      // After a clean end the session is finished and this is a no-op.
      session.destroy(err ?? undefined)
      callback(err)
    }
  })

  session.on('error', onSessionError)
  session.on('close', onSessionClose)
  // A source error destroys the tee (and so the session); a destroyed tee
  // (storage gave up) destroys the source.
  pipeline(source, tee, () => {})
  return tee
}

function ignore (): void {}

function prematureClose (): Error {
  return Object.assign(new Error('the scan session closed before its verdict'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })
}
