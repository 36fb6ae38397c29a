import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { SECURITY } from '../plugins/openapi.js'
import { ref } from '../schemas/common.js'
import { Liveness, Readiness } from '../schemas/health.js'
import { stringField } from '../fields.js'

const CHECK_TIMEOUT_MS = 2_000

// Probed every few seconds by Kubernetes: logged only when they fail.
const healthRoutes: FastifyPluginAsyncTypebox = async function healthRoutes (app) {
  const { ready, readinessChanges } = app.metrics.health
  let last: boolean | undefined
  function setReady (ok: boolean) {
    if (last !== undefined && last !== ok) readinessChanges.inc()
    last = ok
    ready.set(ok ? 1 : 0)
  }

  app.get('/health/live', {
    logLevel: 'warn',
    schema: { operationId: 'getLiveness', tags: ['health'], security: SECURITY.none, summary: 'The process is up', response: { 200: ref(Liveness, { description: 'Up' }) } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/health/ready', {
    logLevel: 'warn',
    schema: {
      operationId: 'getReadiness',
      tags: ['health'],
      security: SECURITY.none,
      summary: 'Postgres, S3 and (when on) the malware scanner are reachable',
      response: { 200: ref(Readiness, { description: 'Ready' }), 503: ref(Readiness, { description: 'A dependency is failing; the check says which' }) }
    }
  }, async (request, reply) => {
    // Shutting down: out of the load balancer at once, without asking anyone.
    if (app.draining) {
      const down = { ok: false, latencyMs: 0, error: 'shutting_down' }
      setReady(false)
      return reply.code(503).send({ status: 'unavailable', checks: { postgres: down, s3: down } })
    }
    const scanner = app.scanner
    const [postgres, s3, scan] = await Promise.all([
      check((signal) => withTimeout(app.database.sql`SELECT 1`.execute(), signal)),
      check((signal) => app.storage.ping({ signal })),
      scanner ? check((signal) => scanner.ping({ signal })) : undefined
    ])
    const checks = { postgres, s3, ...(scan ? { scanner: scan } : {}) }
    const ok = postgres.ok && s3.ok && (scan?.ok ?? true)
    if (!ok) request.log.warn(checks, 'not ready')
    setReady(ok)
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks })
  })
}

async function check (probe: (signal: AbortSignal) => Promise<unknown>): Promise<{ ok: boolean, latencyMs: number, error?: string }> {
  const started = performance.now()
  const signal = AbortSignal.timeout(CHECK_TIMEOUT_MS)
  try {
    await probe(signal)
    return { ok: true, latencyMs: Math.round(performance.now() - started) }
  } catch (err) {
    const error = signal.aborted ? 'timeout' : (stringField(err, 'code') ?? stringField(err, 'name') ?? 'error')
    return { ok: false, latencyMs: Math.round(performance.now() - started), error }
  }
}

function withTimeout<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    promise.then(resolve, reject)
  })
}

export default healthRoutes
