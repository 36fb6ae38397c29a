// Raw HTTP over a real socket, for what inject cannot show: streamed and
// chunked bodies, early responses, hang-ups.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

export interface RawRequest {
  method?: string
  headers?: Record<string, string>
  /** Sent as is; an iterable is sent chunked unless content-length is given. */
  body?: Buffer | Iterable<Buffer> | AsyncIterable<Buffer>
}

/**
 * Sends a request and resolves with the whole response. When the server
 * answers before the body is fully sent (413, 415, 401), the rest is dropped
 * and the answer still resolves, as a browser or curl would see it.
 */
export function send (url: string, options: RawRequest = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let answered = false
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      answered = true
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', (err) => { if (!answered) reject(err) })
    writeBody(req, options.body).catch((err: unknown) => { if (!answered) reject(err) })
  })
}

async function writeBody (req: import('node:http').ClientRequest, body: RawRequest['body']): Promise<void> {
  if (body === undefined) {
    req.end()
    return
  }
  if (Buffer.isBuffer(body)) {
    req.end(body)
    return
  }
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (req.destroyed || req.writableEnded) return
    if (!req.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => { req.off('drain', done); req.off('close', done); resolve() }
        req.on('drain', done)
        req.on('close', done)
      })
    }
  }
  if (!req.destroyed) req.end()
}

/** Yields `total` pseudo-random bytes in chunks, without holding them all. */
export async function * randomChunks (total: number, chunkSize = 64 * 1024, seed = 1): AsyncGenerator<Buffer> {
  let state = seed
  for (let sent = 0; sent < total; sent += chunkSize) {
    const chunk = Buffer.allocUnsafe(Math.min(chunkSize, total - sent))
    for (let i = 0; i < chunk.length; i++) {
      state = (state * 1103515245 + 12345) & 0x7fffffff
      chunk[i] = state >>> 16
    }
    yield chunk
  }
}
