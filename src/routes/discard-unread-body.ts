import type { IncomingMessage } from 'node:http'

export interface DiscardBounds {
  maxBytes: number
  maxMs: number
}

/** What an anonymous client (no valid token yet) may make the service read and throw away. */
export const ANONYMOUS_DISCARD: DiscardBounds = { maxBytes: 1024 * 1024, maxMs: 5_000 }

/**
 * After a response that did not read the whole request body (an early 401,
 * 413 or 415 on an upload), keep reading and discarding for a bounded while.
 * Closing at once would reset the connection while the client is still
 * sending, and a client can then lose the response (RFC 9112 §9.6). Past the
 * bound, the connection is closed. An authenticated caller (the chat app)
 * gets a larger bound, so that a 503 on a busy instance reaches it as a 503
 * and not as a connection reset in the middle of its upload.
 */
export function discardUnreadBody (request: IncomingMessage, bounds: DiscardBounds = ANONYMOUS_DISCARD): void {
  if (request.complete || request.readableEnded || request.destroyed) return
  let seen = 0
  // IncomingMessage.destroy() destroys the connection it came on.
  const close = () => {
    clearTimeout(timer)
    request.destroy()
  }
  const timer = setTimeout(close, bounds.maxMs).unref()
  request.unpipe()
  request.on('data', (chunk: Buffer) => {
    seen += chunk.length
    if (seen > bounds.maxBytes) close()
  })
  request.once('end', () => clearTimeout(timer))
  request.once('close', () => clearTimeout(timer))
  request.resume()
}
