// The rate limit's shared budget in Redis, given to @fastify/rate-limit
// through its documented `store` option. One fixed window per key, counted
// in Redis, so every instance on the same Redis draws from one budget.
//
// An instance takes the budget in portions: one Redis call (INCRBY n, with
// PEXPIRE on the window's first count) reserves the next n places of the
// window, and the instance hands them out itself until they are used or the
// window ends. Nothing passes beyond RATE_LIMIT_MAX: a place exists only
// once Redis counted it. The price is the other way round: places reserved
// by one instance and not used there are refused elsewhere, at most
// n - 1 per instance and key. n = RATE_LIMIT_MAX / RATE_LIMIT_PORTIONS (at
// least 1: exact counting per request for small budgets). Concurrent
// requests of one key wait for the same Redis call. Once Redis has counted
// beyond the budget, the instance refuses that key without asking again
// until the window ends (counts in a fixed window only grow).
//
// Every Redis call's latency and failure is reported: a failure is a
// fail-open event for each request that waited for it, since the plugin
// (skipOnError) then serves them unlimited; that includes the commands
// ioredis refuses at once while disconnected.
import { createHash } from 'node:crypto'
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { Redis } from 'ioredis'

const SCRIPT = `
local current = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  ttl = tonumber(ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return {current, ttl}`
const SHA = createHash('sha1').update(SCRIPT).digest('hex')
// Reservations of ended windows are dropped when there are more than this.
const SWEEP_ABOVE = 10_000

export interface StoreObserver {
  ok: (seconds: number) => void
  failed: (err: Error, seconds: number) => void
}

type Callback = Parameters<FastifyRateLimitStore['incr']>[1]

interface Reservation {
  /** The next place to hand out, and the last one reserved. */
  next: number
  last: number
  windowEnd: number
  /** The window's budget is spent (Redis counted beyond max): refused here until it ends. */
  spent: boolean
}

function isCountAndTtl (value: unknown): value is [number, number] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number'
}

export interface BudgetOptions {
  nameSpace: string
  /** How many portions RATE_LIMIT_MAX is taken in. */
  portions: number
}

/** A store constructor for @fastify/rate-limit's `store` option. */
export function redisBudgetStore (redis: Redis, options: BudgetOptions, observer: StoreObserver): FastifyRateLimitStoreCtor {
  const reservations = new Map<string, Reservation>()
  const waiting = new Map<string, Callback[]>()

  async function count (key: string, amount: number, windowMs: number): Promise<unknown> {
    try {
      return await redis.evalsha(SHA, 1, options.nameSpace + key, amount, windowMs)
    } catch (err) {
      // First use on this Redis (or after a restart): load the script.
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return redis.eval(SCRIPT, 1, options.nameSpace + key, amount, windowMs)
      throw err
    }
  }

  function sweep (now: number): void {
    if (reservations.size <= SWEEP_ABOVE) return
    for (const [key, reservation] of reservations) if (reservation.windowEnd <= now) reservations.delete(key)
  }

  function reserve (key: string, timeWindow: number, max: number): void {
    const amount = Math.max(1, Math.floor(max / options.portions))
    const started = performance.now()
    const seconds = () => (performance.now() - started) / 1000
    // Two-argument then: an exception in a callback is not a Redis failure.
    count(key, amount, timeWindow).then((result) => {
      if (!isCountAndTtl(result)) return failed(new Error('unexpected rate limit script result'))
      observer.ok(seconds())
      const [current, ttl] = result
      const now = Date.now()
      sweep(now)
      const reservation = { next: current - amount + 1, last: Math.min(current, max), windowEnd: now + ttl, spent: current > max }
      reservations.set(key, reservation)
      const queue = waiting.get(key) ?? []
      waiting.delete(key)
      const more: Callback[] = []
      for (const callback of queue) {
        if (reservation.next <= reservation.last) callback(null, { current: reservation.next++, ttl })
        // The window's budget is spent: refused (a place beyond max).
        else if (current > max) callback(null, { current, ttl })
        // This portion is used up, the budget is not: another one.
        else more.push(callback)
      }
      for (const callback of more) take(key, callback, timeWindow, max)
    }, failed)

    function failed (err: unknown): void {
      const error = err instanceof Error ? err : new Error(String(err))
      const queue = waiting.get(key) ?? []
      waiting.delete(key)
      for (const callback of queue) {
        observer.failed(error, seconds())
        callback(error)
      }
    }
  }

  function take (key: string, callback: Callback, timeWindow: number, max: number): void {
    const reservation = reservations.get(key)
    const now = Date.now()
    if (reservation && reservation.windowEnd > now) {
      if (reservation.next <= reservation.last) {
        callback(null, { current: reservation.next++, ttl: reservation.windowEnd - now })
        return
      }
      // Counts in a fixed window only grow: spent stays spent until it ends.
      if (reservation.spent) {
        callback(null, { current: max + 1, ttl: reservation.windowEnd - now })
        return
      }
    }
    const queue = waiting.get(key)
    if (queue) {
      queue.push(callback)
      return
    }
    waiting.set(key, [callback])
    reserve(key, timeWindow, max)
  }

  return class ObservedRedisStore implements FastifyRateLimitStore {
    incr (key: string, callback: Callback, timeWindow: number, max: number): void {
      take(key, callback, timeWindow, max)
    }

    child (): FastifyRateLimitStore {
      return this
    }
  }
}
