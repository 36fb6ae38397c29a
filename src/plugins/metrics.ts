// Prometheus metrics: `GET /metrics` on a listener of its own
// (METRICS_HOST:METRICS_PORT), never on the public port, so a scrape never
// competes with the rate limit and the metrics never reach the internet
// through the ingress. Registered first: the other plugins count into
// app.metrics. Opens its listener when the app is ready, closes it with the app.
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyError, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import type { WithReason } from '../errors.js'
import { createMetrics, methodLabel, type Metrics } from '../metrics/metrics.js'
import { isPublicPath } from '../routes/paths.js'

/** What a route counts beyond its duration (set in the route's `config`). */
export type RouteMetrics = 'download' | 'upload' | 'link'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
    /** Where GET /metrics is served, once the app is ready. */
    metricsAddress: () => AddressInfo
  }
  interface FastifyContextConfig {
    metrics?: RouteMetrics
  }
}

const RATE_LIMIT_CODES: Record<string, string> = {
  ATT_RATE_LIMITED: 'requests',
  ATT_TOO_MANY_DOWNLOADS: 'concurrent_downloads'
}

export default fp<{ config: Pick<Config, 'METRICS_PORT' | 'METRICS_HOST'> }>(async function metricsPlugin (app, { config }) {
  const metrics = createMetrics()
  app.decorate('metrics', metrics)

  // The metric children of each route, method and status seen so far,
  // resolved once: labels are bounded (route templates, methods, status
  // codes). A route's context config is one object for all its requests, so
  // it keys them; request.routeOptions builds a new object on every read.
  const seen = new WeakMap<object, Map<string, Counted>>()
  app.addHook('onResponse', (request, reply, done) => {
    const config = request.routeOptions.config
    let byAnswer = seen.get(config)
    if (!byAnswer) seen.set(config, byAnswer = new Map())
    const method = methodLabel(request.method)
    const status = reply.statusCode
    const key = method + status
    let counted = byAnswer.get(key)
    if (!counted) byAnswer.set(key, counted = resolve(metrics, config.url ?? 'unmatched', config.metrics, method, status))
    counted.duration.observe(reply.elapsedTime / 1000)
    counted.kind?.inc()
    done()
  })

  // Reasons travel on the errors (src/errors.ts); counted here, whatever
  // hook or handler threw them.
  app.addHook('onError', (request, _reply, error: FastifyError & WithReason, done) => {
    countRefusal(metrics, request, error)
    done()
  })

  const server = createServer({ headersTimeout: 5_000, requestTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => {
    if (req.method !== 'GET' || req.url?.split('?', 1)[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: GET /metrics\n')
      return
    }
    metrics.registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }).end(text)
    }, (err: unknown) => {
      app.log.error({ err }, 'metrics collection failed')
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n')
    })
  })
  app.decorate('metricsAddress', () => {
    const address = server.address()
    if (!address || typeof address === 'string') throw new Error('the metrics listener is not open')
    return address
  })
  app.addHook('onReady', async () => {
    server.listen(config.METRICS_PORT, config.METRICS_HOST)
    await once(server, 'listening')
    const { address, port } = server.address() as AddressInfo
    app.log.info({ metrics: `http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics` }, 'metrics listening')
  })
  app.addHook('onClose', async () => {
    if (!server.listening) return
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
}, { name: 'metrics', fastify: '5.x' })

/** Denials (the common 404), 401s by reason and 429s by limit. */
export function countRefusal (metrics: Metrics, request: FastifyRequest, error: FastifyError & WithReason): void {
  const status = error.statusCode
  if (status === 404 && error.code === 'ATT_NOT_FOUND' && error.reason) {
    metrics.http.denials.inc({ reason: error.reason })
  } else if (status === 401) {
    metrics.http.unauthorized.inc({ api: isPublicPath(request.url) ? 'public' : 'internal', reason: error.reason ?? 'missing' })
  } else if (status === 429) {
    metrics.http.rateLimited.inc({ limit: RATE_LIMIT_CODES[error.code] ?? 'other' })
  }
}

interface Counted {
  duration: { observe: (seconds: number) => void }
  /** The route's own count (downloads by status, uploads and links by outcome). */
  kind?: { inc: () => void }
}

function resolve (metrics: Metrics, route: string, kind: RouteMetrics | undefined, method: string, status: number): Counted {
  const { http } = metrics
  const duration = http.duration.labels({ route, method, status_class: `${Math.floor(status / 100)}xx` })
  if (kind === 'download') return { duration, kind: http.downloadResponses.labels({ method, status: String(status) }) }
  if (kind === 'upload') return { duration, kind: http.uploads.labels({ outcome: String(status) }) }
  if (kind === 'link') return { duration, kind: http.links.labels({ outcome: String(status) }) }
  return { duration }
}
