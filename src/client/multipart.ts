// A multipart/form-data body (RFC 7578) built as a stream: the fields, then
// the file's bytes as they are read, then the closing boundary. Nothing is
// buffered beyond the chunk in flight, and the fetch pulls each chunk only
// when the socket takes it, so a slow network slows the file's reading.
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import type { Readable } from 'node:stream'
import { ReadableStream } from 'node:stream/web'

/** A file path, a Node stream, or a web stream. */
export type FileSource = string | Readable | ReadableStream<Uint8Array> | globalThis.ReadableStream<Uint8Array>

export interface FilePart {
  fileName: string
  contentType: string
  chunks: AsyncIterable<Uint8Array>
  /** Known for a path: the body then has a Content-Length the service judges before reading. */
  size?: number
  /** Stops the source at once, even while a read is pending (a stalled stream). */
  stop: () => void
}

/** Opens a file source, to be read once; stop() destroys or cancels it. */
export async function openFile (source: FileSource, fileName: string | undefined, contentType: string | undefined): Promise<FilePart> {
  const type = contentType ?? 'application/octet-stream'
  if (typeof source === 'string') {
    const { size } = await stat(source)
    const stream = createReadStream(source)
    return { fileName: fileName ?? basename(source), contentType: type, size, chunks: stream, stop: () => stream.destroy() }
  }
  const name = fileName ?? 'file'
  if (isReadable(source)) return { fileName: name, contentType: type, chunks: source, stop: () => source.destroy() }
  // A reader, rather than the stream's own iterator: cancel() ends a pending read.
  const reader = source.getReader()
  async function * chunks (): AsyncGenerator<Uint8Array> {
    for (let next = await reader.read(); !next.done; next = await reader.read()) yield next.value
  }
  return { fileName: name, contentType: type, chunks: chunks(), stop: () => { reader.cancel().catch(() => {}) } }
}

function isReadable (source: FileSource): source is Readable {
  return typeof (source as Readable).pipe === 'function' && typeof (source as Readable).destroy === 'function'
}

/** A header parameter value, as browsers escape it (WHATWG HTML "multipart/form-data encoding"). */
function quoted (value: string): string {
  return value.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22')
}

export interface MultipartBody {
  body: ReadableStream<Uint8Array>
  contentType: string
  /** The exact byte length, when the file's size is known. */
  length: number | undefined
  /** Stops reading the file (and closes or cancels it) once the call is over, however early or stalled. */
  close: () => void
}

export function multipartBody (fields: Array<[string, string]>, file: FilePart, fileField = 'file'): MultipartBody {
  const boundary = `----chat-attachments-${randomBytes(16).toString('hex')}`
  const head = Buffer.from([
    ...fields.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${value}\r\n`),
    `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(fileField)}"; filename="${quoted(file.fileName)}"\r\n`,
    `Content-Type: ${file.contentType}\r\n\r\n`
  ].join(''), 'utf8')
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  async function * parts (): AsyncGenerator<Uint8Array> {
    yield head
    for await (const chunk of file.chunks) yield chunk
    yield tail
  }
  const iterator = parts()
  const body = new ReadableStream<Uint8Array>({
    async pull (controller) {
      const next = await iterator.next()
      if (next.done) controller.close()
      else controller.enqueue(next.value)
    },
    async cancel () {
      await iterator.return(undefined)
    }
  }, { highWaterMark: 0 })
  return {
    body,
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: file.size === undefined ? undefined : head.length + file.size + tail.length,
    close: () => {
      file.stop()
      iterator.return(undefined).catch(() => {})
    }
  }
}
