// The browser routes' rate limit: @fastify/rate-limit with its Redis store,
// one budget shared by every instance. Registered inside the public context
// only. Fails open: when Redis is down or slower than REDIS_TIMEOUT_MS, the
// request is served unlimited, and the failure is logged, throttled.
// RATE_LIMIT_STORE=memory uses the library's own in-process store instead;
// app.ts then never registers the Redis plugin, hence no declared dependency.
import fastifyRateLimit, { normalizeIP, type FastifyRateLimitStore, type FastifyRateLimitStoreCtor, type RateLimitPluginOptions } from '@fastify/rate-limit'
import RedisStore from '@fastify/rate-limit/store/RedisStore.js'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import type { Config } from '../config.js'
import { RateLimitedError } from '../errors.js'
import { failureLog } from '../failure-log.js'

export interface RateLimitOptions {
  config: Config
  /** The budget's owner: a user id, or undefined for an anonymous request (IP only). */
  subject: (request: FastifyRequest) => string | undefined
}

export default fp<RateLimitOptions>(async function rateLimitPlugin (app, { config, subject }) {
  const failures = failureLog(app.log, 'Rate limit store (Redis)')
  const memory = config.RATE_LIMIT_STORE === 'memory'
  if (memory) app.log.warn('Rate limit counted in process memory (RATE_LIMIT_STORE=memory): every instance has its own budget')
  await app.register(fastifyRateLimit, {
    global: true,
    hook: 'onRequest',
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    skipOnError: true,
    ...(memory ? {} : { store: reportingStore(app.redis, `${config.REDIS_KEY_PREFIX}rate:`, failures) }),
    keyGenerator (request) {
      const ip = normalizeIP(request.ip)
      const who = subject(request)
      return who === undefined ? `ip:${ip}` : `user:${who}:${ip}`
    },
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after)
  })
}, { name: 'rate-limit', fastify: '5.x' })

/** The library's Redis store (atomic Lua INCR+PEXPIRE), reporting failures. */
function reportingStore (redis: Redis, prefix: string, failures: ReturnType<typeof failureLog>): FastifyRateLimitStoreCtor {
  function wrap (inner: RedisStore): FastifyRateLimitStore {
    return {
      incr (key, callback, timeWindow, max) {
        inner.incr(key, (err, result) => {
          if (err) failures.failure(err)
          else failures.success()
          callback(err, result ?? undefined)
        }, timeWindow, max)
      },
      child: (routeOptions) => wrap(inner.child(routeOptions))
    }
  }
  return class ReportingRedisStore {
    constructor (options: RateLimitPluginOptions) {
      return wrap(new RedisStore(options.continueExceeding ?? false, options.exponentialBackoff ?? false, redis, prefix))
    }
  } as unknown as FastifyRateLimitStoreCtor
}
