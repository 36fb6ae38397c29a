// The rate limit's shared budget in Redis, given to @fastify/rate-limit
// through its documented `store` option. The counting is the library's own
// fixed window (INCR, and PEXPIRE on the window's first request, in one Lua
// script run with EVALSHA), so every instance on the same Redis draws from
// one budget. Being our store, every call's latency and failure is seen: a
// failure is a fail-open event, since the plugin (skipOnError) then serves
// the request unlimited; that includes the commands ioredis refuses at once
// while disconnected.
import { createHash } from 'node:crypto'
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { Redis } from 'ioredis'

const SCRIPT = `
local current = redis.call('INCR', KEYS[1])
local ttl
if current == 1 then
  ttl = tonumber(ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    ttl = tonumber(ARGV[1])
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
return {current, ttl}`
const SHA = createHash('sha1').update(SCRIPT).digest('hex')

export interface StoreObserver {
  ok: (seconds: number) => void
  failed: (err: Error, seconds: number) => void
}

type Callback = Parameters<FastifyRateLimitStore['incr']>[1]

function isCountAndTtl (value: unknown): value is [number, number] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number'
}

/** A store constructor for @fastify/rate-limit's `store` option, counting under `nameSpace`. */
export function observedRedisStore (redis: Redis, nameSpace: string, observer: StoreObserver): FastifyRateLimitStoreCtor {
  async function count (key: string, windowMs: number): Promise<unknown> {
    try {
      return await redis.evalsha(SHA, 1, key, windowMs)
    } catch (err) {
      // First use on this Redis (or after a restart): load the script.
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return redis.eval(SCRIPT, 1, key, windowMs)
      throw err
    }
  }

  return class ObservedRedisStore implements FastifyRateLimitStore {
    incr (key: string, callback: Callback, timeWindow: number): void {
      const started = performance.now()
      const seconds = () => (performance.now() - started) / 1000
      count(nameSpace + key, timeWindow).then((result) => {
        if (!isCountAndTtl(result)) throw new Error('unexpected rate limit script result')
        observer.ok(seconds())
        callback(null, { current: result[0], ttl: result[1] })
      }, (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err))
        observer.failed(error, seconds())
        callback(error)
      })
    }

    child (): FastifyRateLimitStore {
      return this
    }
  }
}
