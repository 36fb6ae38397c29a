import { once } from 'node:events'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import type { Config } from '../config.js'
import { failureLog } from '../failure-log.js'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
  }
}

/**
 * A client tuned for a rate limiter that must never hold a request up:
 * no offline queue (commands fail at once while disconnected), one try per
 * command, a short command timeout, and endless background reconnects so
 * limiting resumes by itself when Redis is back.
 */
export function createRedis (config: { REDIS_URL: string } & Pick<Config, 'REDIS_TIMEOUT_MS'>): Redis {
  return new Redis(config.REDIS_URL, {
    connectTimeout: 500,
    commandTimeout: config.REDIS_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // Commands of one event-loop turn go out in one write: under load the
    // rate limit costs one syscall per batch, not per request.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000)
  })
}

export default fp<{ config: Config & { REDIS_URL: string } }>(async function redisPlugin (app, { config }) {
  const redis = createRedis(config)
  const failures = failureLog(app.log, 'Redis')
  // Connection errors are reported here, throttled; without a listener
  // ioredis would print each reconnect failure to stderr.
  redis.on('error', (err) => failures.failure(err))
  redis.on('ready', () => failures.success())
  app.decorate('redis', redis)
  app.addHook('onClose', () => { redis.disconnect() })
  // Give the first connection a moment so the first requests are counted,
  // but start without Redis rather than not at all: the limiter fails open.
  // (once() rejects on an 'error' event: Redis down, start at once.)
  await Promise.race([once(redis, 'ready').catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
}, { name: 'redis', fastify: '5.x' })
