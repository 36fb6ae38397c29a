// The browser routes' rate limit: @fastify/rate-limit with its own Redis
// store (given the service's Redis client through the plugin's documented
// `redis` and `nameSpace` options), one budget shared by every instance.
// Registered inside the public context only. Fails open: when Redis is down
// or slower than REDIS_TIMEOUT_MS, the request is served unlimited.
//
// The store's commands are observed through ioredis' documented diagnostics
// tracing channel (`ioredis:command`), filtered to this client's server:
// their latency and failures are counted (each failure is a request served
// unlimited: a fail-open event), and failures are logged throttled; the
// plugin itself swallows them (skipOnError).
// RATE_LIMIT_STORE=memory uses the library's own in-process store instead;
// app.ts then never registers the Redis plugin, hence no declared dependency.
import { tracingChannel } from 'node:diagnostics_channel'
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { CommandTraceContext } from 'ioredis'
import type { Config } from '../config.js'
import { RateLimitedError } from '../errors.js'
import { failureLog } from '../failure-log.js'

export interface RateLimitOptions {
  config: Config
  /** The budget's owner: a user id, or undefined for an anonymous request (IP only). */
  subject: (request: FastifyRequest) => string | undefined
}

const commands = tracingChannel('ioredis:command')

export default fp<RateLimitOptions>(async function rateLimitPlugin (app, { config, subject }) {
  const memory = config.RATE_LIMIT_STORE === 'memory'
  if (memory) {
    app.log.warn('Rate limit counted in process memory (RATE_LIMIT_STORE=memory): every instance has its own budget')
  } else {
    const failures = failureLog(app.log, 'Rate limit store (Redis)')
    const { failOpen, failing, storeDuration } = app.metrics.rateLimit
    const port = new URL(config.REDIS_URL!).port || '6379'
    const started = new WeakMap<object, number>()
    const ours = (context: object) => String((context as CommandTraceContext).serverPort ?? 6379) === port
    const handlers = {
      end () {},
      asyncStart () {},
      error () {},
      start (context: object) { if (ours(context)) started.set(context, performance.now()) },
      asyncEnd (context: object) {
        const start = started.get(context)
        if (start === undefined) return
        const error = (context as { error?: unknown }).error
        storeDuration.observe({ outcome: error === undefined ? 'ok' : 'error' }, (performance.now() - start) / 1000)
        if (error === undefined) {
          failing.set(0)
          failures.success()
        } else {
          failOpen.inc()
          failing.set(1)
          failures.failure(error)
        }
      }
    }
    commands.subscribe(handlers)
    app.redis.on('ready', () => failures.success())
    app.addHook('onClose', () => { commands.unsubscribe(handlers) })
  }

  await app.register(fastifyRateLimit, {
    global: true,
    hook: 'onRequest',
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    skipOnError: true,
    ...(memory ? {} : { redis: app.redis, nameSpace: `${config.REDIS_KEY_PREFIX}rate:` }),
    keyGenerator (request) {
      const ip = normalizeIP(request.ip)
      const who = subject(request)
      return who === undefined ? `ip:${ip}` : `user:${who}:${ip}`
    },
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after)
  })
}, { name: 'rate-limit', fastify: '5.x' })
