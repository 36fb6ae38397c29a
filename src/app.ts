import { randomUUID } from 'node:crypto'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import { trustedProxies, type Config } from './config.js'
import { loggerOptions, type LogOptions } from './logger.js'
import auditPlugin from './plugins/audit.js'
import authPlugin from './plugins/auth.js'
import connectionsPlugin, { serverTimeouts } from './plugins/connections.js'
import databasePlugin from './plugins/database.js'
import errorsPlugin, { frameworkErrorHandler } from './plugins/errors.js'
import imagesPlugin from './plugins/images.js'
import metricsPlugin from './plugins/metrics.js'
import openapiPlugin from './plugins/openapi.js'
import redisPlugin from './plugins/redis.js'
import revocationsPlugin from './plugins/revocations.js'
import scannerPlugin from './plugins/scanner.js'
import shutdownPlugin from './plugins/shutdown.js'
import storagePlugin from './plugins/storage.js'
import healthRoutes from './routes/health.js'
import internalRoutes from './routes/internal/index.js'
import { INTERNAL_PREFIX, PUBLIC_PREFIX } from './routes/paths.js'
import publicRoutes from './routes/public/index.js'
import { rewriteMalformedBrowserPath } from './routes/public/malformed-path.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

export interface AppOptions {
  config: Config
  /** Log destination and format; the level comes from config.LOG_LEVEL. */
  log?: Omit<LogOptions, 'level'>
}

const MAX_PARAM_LENGTH = 200

/** Builds the whole service from its options; reads no environment. */
export function buildApp ({ config, log = {} }: AppOptions): FastifyInstance {
  const app = Fastify({
    logger: loggerOptions({ level: config.LOG_LEVEL, ...log }),
    genReqId: () => randomUUID(),
    // Incoming X-Request-Id is not trusted: a client could forge log correlation.
    requestIdHeader: false,
    // Only the listed proxies may set the client address (X-Forwarded-For);
    // without TRUST_PROXY it is the socket's peer.
    trustProxy: trustedProxies(config),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ...serverTimeouts(config),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Browser paths the router would refuse before routing (bad
    // percent-encoding, over-long ids) go through the browser routes like any
    // malformed id: rate-limited, and answered with the one common 404.
    rewriteUrl: (request) => rewriteMalformedBrowserPath(request.url ?? '/', MAX_PARAM_LENGTH),
    frameworkErrors: frameworkErrorHandler,
    // Unknown body properties are refused (400), not silently dropped: a
    // typo in a field name must not pass unnoticed.
    ajv: { customOptions: { removeAdditional: false } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('config', config)
  // First: every other plugin counts into app.metrics.
  app.register(metricsPlugin, { config })
  app.register(shutdownPlugin, { config })
  app.register(connectionsPlugin, { config })
  app.register(errorsPlugin)
  app.register(openapiPlugin, { config })
  app.register(databasePlugin, { config })
  app.register(auditPlugin, { config })
  app.register(revocationsPlugin, { config })
  app.register(storagePlugin, { config })
  app.register(scannerPlugin, { config })
  app.register(imagesPlugin, { config })
  app.register(authPlugin, { config })
  // Only the rate limit uses Redis: with RATE_LIMIT_STORE=memory it is never connected.
  if (config.RATE_LIMIT_STORE === 'redis') {
    // loadConfig already refuses the Redis store without REDIS_URL.
    if (config.REDIS_URL === undefined) throw new Error('REDIS_URL is required')
    app.register(redisPlugin, { config: { ...config, REDIS_URL: config.REDIS_URL } })
  }
  app.register(healthRoutes)
  app.register(internalRoutes, { prefix: INTERNAL_PREFIX })
  app.register(publicRoutes, { prefix: PUBLIC_PREFIX })
  return app
}
