import type { IncomingMessage } from 'node:http'

const MAX_DISCARD_BYTES = 1024 * 1024
const MAX_DISCARD_MS = 5_000

/**
 * After a response that did not read the whole request body (an early 401,
 * 413 or 415 on an upload), keep reading and discarding for a bounded while.
 * Closing at once would reset the connection while the client is still
 * sending, and a client can then lose the response (RFC 9112 §9.6). Past the
 * bound, the connection is closed.
 */
export function discardUnreadBody (request: IncomingMessage): void {
  if (request.complete || request.readableEnded || request.destroyed) return
  let seen = 0
  // IncomingMessage.destroy() destroys the connection it came on.
  const close = () => {
    clearTimeout(timer)
    request.destroy()
  }
  const timer = setTimeout(close, MAX_DISCARD_MS).unref()
  request.unpipe()
  request.on('data', (chunk: Buffer) => {
    seen += chunk.length
    if (seen > MAX_DISCARD_BYTES) close()
  })
  request.once('end', () => clearTimeout(timer))
  request.once('close', () => clearTimeout(timer))
  request.resume()
}
