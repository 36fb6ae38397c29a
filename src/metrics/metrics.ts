// Every metric the service exports, declared once. Each app builds its own
// registry (tests build several apps in one process; prom-client's global
// registry would make them share counters). Label values are bounded by
// construction: route templates, methods from a fixed list, status codes,
// and reasons from closed sets in the code, never ids, URLs or user names.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

export const PREFIX = 'chat_attachments_'

// Seconds; from a cache hit (a few ms) to a large download on a slow link.
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
// Dependency calls: fast by design, with timeouts of seconds.
const DEPENDENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15]

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** The method as a label value: anything unusual is "other". */
export function methodLabel (method: string): string {
  return METHODS.has(method) ? method : 'other'
}

export function createMetrics () {
  const registry = new Registry()
  // RSS, heap, event-loop delay, open handles, GC: prom-client's standard names.
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name: PREFIX + name, help, labelNames, registers })
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
    new Histogram<L>({ name: PREFIX + name, help, labelNames, buckets, registers })
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name: PREFIX + name, help, labelNames, registers })

  return {
    registry,
    http: {
      duration: histogram('http_request_duration_seconds',
        'Time from the request to the end of its answer, by route template, method and status class',
        ['route', 'method', 'status_class'], HTTP_BUCKETS),
      downloadResponses: counter('download_responses_total',
        'Answers of the browser download route by status code (200, 206, 304, 404, 412, 416, 429...)', ['method', 'status']),
      downloadBytes: counter('download_bytes_total', 'Body bytes handed to clients by the download routes, added when each response ends'),
      denials: counter('denials_total',
        'Browser requests answered with the common 404, by the reason only metrics and logs see', ['reason']),
      unauthorized: counter('unauthorized_total', '401 answers by API and refusal reason', ['api', 'reason']),
      rateLimited: counter('rate_limited_total', '429 answers by limit (requests per window, concurrent downloads)', ['limit']),
      uploads: counter('uploads_total', 'Upload requests by status code (201, 400, 413, 415, 503...)', ['outcome']),
      uploadBytes: counter('upload_bytes_total', 'Bytes of successfully staged uploads'),
      links: counter('links_total', 'Link requests by status code (200, 404, 409...)', ['outcome'])
    },
    s3: {
      requests: counter('s3_requests_total', 'S3 calls by operation and outcome (ok, not_found, aborted, error)', ['operation', 'outcome']),
      duration: histogram('s3_request_duration_seconds',
        'Time of an S3 call until its answer headers, retries included', ['operation'], DEPENDENCY_BUCKETS)
    },
    postgres: {
      errors: counter('postgres_errors_total', 'Failed queries by kind (unavailable, timeout, query)', ['kind']),
      poolWaits: counter('postgres_pool_waits_total', 'Queries and transactions that found every pooled connection busy and queued'),
      inFlight: gauge('postgres_operations_in_flight', 'Queries and transactions running or queued for a connection')
    },
    rowCache: {
      lookups: counter('row_cache_lookups_total',
        'Browser row lookups by outcome: hit (memory), miss (Postgres), stale (cache bypassed: its change feed is not confirmed current)', ['outcome']),
      invalidations: counter('row_cache_invalidations_total', 'Cached rows dropped because Postgres notified a change'),
      bodies: counter('body_cache_lookups_total', 'Small bodies (up to 64 KiB) answered from memory (hit) or read from S3 (miss)', ['outcome']),
      bodyBytes: gauge('body_cache_bytes', 'Bytes of small bodies kept with cached rows')
    },
    rateLimit: {
      failOpen: counter('rate_limit_fail_open_total', 'Rate limit store (Redis) commands that failed: the request was served unlimited'),
      failing: gauge('rate_limit_store_failing', '1 while the last rate limit store command failed (the limit is open)'),
      storeDuration: histogram('rate_limit_store_duration_seconds',
        'Rate limit store (Redis) command time by outcome', ['outcome'], DEPENDENCY_BUCKETS)
    },
    health: {
      ready: gauge('ready', '1 when the last readiness check passed'),
      readinessChanges: counter('readiness_changes_total', 'Times the readiness answer changed (ready to not ready or back)')
    }
  }
}

export type Metrics = ReturnType<typeof createMetrics>
