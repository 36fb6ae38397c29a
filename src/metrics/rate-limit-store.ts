// The rate limit's Redis store, observed: @fastify/rate-limit's own store
// (its Lua script, unchanged) wrapped so that every call's latency and
// failure is seen. A failure is a fail-open event: the plugin (skipOnError)
// serves the request unlimited. Wrapping the store sees every failure,
// including the commands ioredis refuses at once while disconnected, which
// never reach its diagnostics channel.
import { createRequire } from 'node:module'
import type { Redis } from 'ioredis'

interface StoreResult { current: number, ttl: number }
type Callback = (err: Error | null, result: StoreResult | null) => void
interface Store {
  incr: (key: string, cb: Callback, timeWindow: number, max: number) => void
  read?: (key: string, cb: Callback, timeWindow: number, max: number) => void
  child: (routeOptions: unknown) => Store
}
type RedisStoreConstructor = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key: string) => Store

const require = createRequire(import.meta.url)
// The plugin's own store module (it has no typings of its own).
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as RedisStoreConstructor

export interface StoreObserver {
  ok: (seconds: number) => void
  failed: (err: Error, seconds: number) => void
}

function observed (inner: Store, observer: StoreObserver): Store {
  return {
    incr (key, cb, timeWindow, max) {
      const started = performance.now()
      inner.incr(key, (err, result) => {
        const seconds = (performance.now() - started) / 1000
        if (err) observer.failed(err, seconds)
        else observer.ok(seconds)
        cb(err, result)
      }, timeWindow, max)
    },
    ...(inner.read ? { read: inner.read.bind(inner) } : {}),
    child: (routeOptions) => observed(inner.child(routeOptions), observer)
  }
}

/** A store constructor for @fastify/rate-limit's `store` option. */
export function observedRedisStore (redis: Redis, nameSpace: string, observer: StoreObserver) {
  return function ObservedRedisStore (params: { continueExceeding: boolean, exponentialBackoff: boolean }): Store {
    return observed(new RedisStore(params.continueExceeding, params.exponentialBackoff, redis, nameSpace), observer)
  }
}
