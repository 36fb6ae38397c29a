// Bounds how long a client may take to send a request body. Node's own
// requestTimeout covers every request alike, but an upload of 25 MB over a
// slow link may rightly take minutes, while 10 bytes of a JSON body followed
// by silence must not hold a connection at all. So:
// - a request body must be complete within `requestTimeoutMs`;
// - a route that takes uploads switches its request to a progress rule
//   (`expectSlowBody`): each window of `requestTimeoutMs` must bring at least
//   `minBytesPerSecond` x window bytes, unless the bytes wait on the service
//   itself (the request stream holds unread data: storage is the slow side).
// A client that breaks the rule gets a bare 408 when nothing was answered
// yet (as Node does for its own timeouts), and the connection is closed.
//
// One sweep timer serves every watched request, so the cost per request is a
// Set insertion; requests without a body (downloads) are never watched.
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface BodyDeadlineOptions {
  requestTimeoutMs: number
  minBytesPerSecond: number
  /** Called once for every connection cut, for logs and metrics. */
  onCut?: (request: IncomingMessage, reason: CutReason) => void
}

export type CutReason = 'body_timeout' | 'body_too_slow'

interface Watch {
  request: IncomingMessage
  response: ServerResponse
  started: number
  progress: boolean
  windowStart: number
  bytesAtWindowStart: number
}

const REQUEST_TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'

export interface BodyDeadline {
  /** Starts watching a request (the server's 'request' event). */
  watch (request: IncomingMessage, response: ServerResponse): void
  /** Switches a request to the progress rule (uploads). */
  expectSlowBody (request: IncomingMessage): void
  /** Requests being watched right now. */
  readonly size: number
  close (): void
}

export function hasBody (request: IncomingMessage): boolean {
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

export function createBodyDeadline (options: BodyDeadlineOptions, now: () => number = Date.now): BodyDeadline {
  const active = new Set<Watch>()
  const watches = new WeakMap<IncomingMessage, Watch>()
  const windowMs = options.requestTimeoutMs
  const minWindowBytes = Math.ceil(options.minBytesPerSecond * windowMs / 1000)
  // Checked a few times per window: a stalled client is cut at most a quarter
  // of a window late.
  const timer = setInterval(sweep, Math.max(25, Math.min(1_000, Math.floor(windowMs / 4))))
  timer.unref()

  function forget (watch: Watch): void {
    active.delete(watch)
    watches.delete(watch.request)
  }

  function cut (watch: Watch, reason: CutReason): void {
    forget(watch)
    const socket = watch.request.socket
    options.onCut?.(watch.request, reason)
    if (!watch.response.headersSent && socket.writable) socket.write(REQUEST_TIMEOUT_RESPONSE)
    socket.destroy()
  }

  function sweep (): void {
    const time = now()
    for (const watch of active) {
      const { request } = watch
      if (request.complete || request.destroyed) {
        forget(watch)
        continue
      }
      if (!watch.progress) {
        if (time - watch.started >= windowMs) cut(watch, 'body_timeout')
        continue
      }
      if (time - watch.windowStart < windowMs) continue
      const received = request.socket.bytesRead - watch.bytesAtWindowStart
      // Unread bytes in the request stream: the service is the slow side.
      if (received < minWindowBytes && request.readableLength === 0) {
        cut(watch, 'body_too_slow')
        continue
      }
      watch.windowStart = time
      watch.bytesAtWindowStart = request.socket.bytesRead
    }
  }

  return {
    watch (request, response) {
      if (!hasBody(request)) return
      const time = now()
      const watch: Watch = { request, response, started: time, progress: false, windowStart: time, bytesAtWindowStart: request.socket.bytesRead }
      active.add(watch)
      watches.set(request, watch)
      const done = () => forget(watch)
      request.once('end', done)
      request.once('close', done)
    },
    expectSlowBody (request) {
      const watch = watches.get(request)
      if (!watch) return
      watch.progress = true
      watch.windowStart = now()
      watch.bytesAtWindowStart = request.socket.bytesRead
    },
    get size () {
      return active.size
    },
    close () {
      clearInterval(timer)
      active.clear()
    }
  }
}
