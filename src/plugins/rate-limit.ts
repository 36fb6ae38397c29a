// The browser routes' rate limit: @fastify/rate-limit with a Redis store
// passed through its documented `store` option (on the service's Redis
// client, under REDIS_KEY_PREFIX + "rate:"), one budget shared by every
// instance.
// Registered inside the public context only. Fails open: when Redis is down
// or slower than REDIS_TIMEOUT_MS, the request is served unlimited.
//
// The store's calls are observed (http/rate-limit-budget.ts): their
// latency and failures are counted (each failure is a request served
// unlimited: a fail-open event), and failures are logged throttled; the
// plugin itself swallows them (skipOnError).
// RATE_LIMIT_STORE=memory uses the library's own in-process store instead;
// app.ts then never registers the Redis plugin, hence no declared dependency.
import fastifyRateLimit, { normalizeIP, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { RateLimitedError } from '../errors.js'
import { failureLog } from '../failure-log.js'
import { redisBudgetStore } from '../http/rate-limit-budget.js'

export interface RateLimitOptions {
  config: Config
  /** The budget's owner: a user id, or undefined for an anonymous request (IP only). */
  subject: (request: FastifyRequest) => string | undefined
}

export default fp<RateLimitOptions>(async function rateLimitPlugin (app, { config, subject }) {
  const memory = config.RATE_LIMIT_STORE === 'memory'
  let store: FastifyRateLimitStoreCtor | undefined
  if (memory) {
    app.log.warn('Rate limit counted in process memory (RATE_LIMIT_STORE=memory): every instance has its own budget')
  } else {
    const failures = failureLog(app.log, 'Rate limit store (Redis)')
    const { failOpen, failing, storeDuration } = app.metrics.rateLimit
    store = redisBudgetStore(app.redis, { nameSpace: `${config.REDIS_KEY_PREFIX}rate:`, portions: config.RATE_LIMIT_PORTIONS }, {
      ok (seconds) {
        storeDuration.observe({ outcome: 'ok' }, seconds)
        failing.set(0)
        failures.success()
      },
      failed (err, seconds) {
        storeDuration.observe({ outcome: 'error' }, seconds)
        failOpen.inc()
        failing.set(1)
        failures.failure(err)
      }
    })
  }

  await app.register(fastifyRateLimit, {
    global: true,
    hook: 'onRequest',
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    skipOnError: true,
    // The shared Redis budget, observed (see http/rate-limit-budget.ts).
    ...(store ? { store } : {}),
    keyGenerator (request) {
      // normalizeIP runs an IPv6 pattern on every address; an IPv4 one
      // (no colon) comes back as it is.
      const ip = request.ip.includes(':') ? normalizeIP(request.ip) : request.ip
      const who = subject(request)
      return who === undefined ? `ip:${ip}` : `user:${who}:${ip}`
    },
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after)
  })
}, { name: 'rate-limit', fastify: '5.x' })
