// autocannon ships no type declarations; this covers what bench/ uses.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  namespace autocannon {
    interface Options {
      url: string
      connections?: number
      /** Seconds. */
      duration?: number
      /** Stops earlier once this many requests were made (with duration). */
      maxOverallRequests?: number
      /** Seconds per request. */
      timeout?: number
      pipelining?: number
      method?: string
      headers?: Record<string, string>
    }

    interface Histogram {
      average: number
      mean: number
      stddev: number
      min: number
      max: number
      total: number
      p50: number
      p90: number
      p99: number
    }

    interface Result {
      /** Seconds. */
      duration: number
      errors: number
      timeouts: number
      resets: number
      non2xx: number
      statusCodeStats: Record<string, { count: number }>
      /** Milliseconds, every response (errors included by default). */
      latency: Histogram
      requests: Histogram & { sent: number }
      /** Bytes read, headers included. */
      throughput: Histogram
    }

    type Instance = EventEmitter & PromiseLike<Result>
  }

  function autocannon (options: autocannon.Options): autocannon.Instance
  export = autocannon
}
