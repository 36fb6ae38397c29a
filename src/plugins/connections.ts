import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { createBodyDeadline, type BodyDeadline, type CutReason } from '../http/body-deadline.js'
import { createSlots, type Slots } from '../http/slots.js'

declare module 'fastify' {
  interface FastifyInstance {
    bodyDeadline: BodyDeadline
    /** Uploads and downloads in flight on this instance, bounded. */
    slots: { uploads: Slots, downloads: Slots }
  }
}

/** Server options that bound every connection in time (see also the body deadline below). */
export function serverTimeouts (config: Pick<Config, 'HTTP_HEADERS_TIMEOUT_MS' | 'HTTP_KEEP_ALIVE_TIMEOUT_MS'>) {
  return {
    // Node checks the headers deadline on a sweep; the default sweep (30 s)
    // would let a stalled client stay half a minute past it.
    http: {
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(config.HTTP_HEADERS_TIMEOUT_MS / 4)))
    },
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    // Node's requestTimeout would cut slow uploads too; bodies are bounded by
    // the body deadline instead, which knows uploads.
    requestTimeout: 0
  }
}

/**
 * Bounds what a client can make the service hold: connection time (below)
 * and the number of uploads and downloads in flight (slots).
 *
 * Watches every request that has a body, from the moment its headers are in
 * (before routing, before any token is checked), and cuts the connection of
 * a client that does not deliver it in time. Cuts are logged once each, at
 * info: they are the client's doing, not a failure of the service.
 */
export default fp<{ config: Config }>(async function connectionsPlugin (app, { config }) {
  const deadline = createBodyDeadline({
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    minBytesPerSecond: config.UPLOAD_MIN_BYTES_PER_SECOND,
    onCut (request: IncomingMessage, reason: CutReason) {
      app.log.info({ method: request.method, remoteAddress: request.socket.remoteAddress, reason }, 'request body too slow: connection closed')
    }
  })
  app.decorate('bodyDeadline', deadline)
  app.decorate('slots', {
    uploads: createSlots({ perKey: config.UPLOAD_MAX_CONCURRENT, total: config.UPLOAD_MAX_CONCURRENT }),
    downloads: createSlots({ perKey: config.DOWNLOAD_MAX_CONCURRENT_PER_USER, total: config.DOWNLOAD_MAX_CONCURRENT })
  })
  app.server.on('request', deadline.watch)
  app.addHook('onClose', () => {
    app.server.off('request', deadline.watch)
    deadline.close()
  })
}, { name: 'connections', fastify: '5.x' })
