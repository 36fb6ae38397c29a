import type { FastifyBaseLogger } from 'fastify'

/**
 * Logs a failing dependency without flooding: the first failure at once,
 * then at most one line per interval with the number of failures since, and
 * one line when it works again.
 */
export function failureLog (log: FastifyBaseLogger, what: string, intervalMs = 30_000) {
  let failing = false
  let suppressed = 0
  let lastLogged = 0
  return {
    failure (err: unknown): void {
      const now = Date.now()
      if (!failing || now - lastLogged >= intervalMs) {
        log.warn({ err, failuresSinceLastLog: suppressed }, `${what} is failing`)
        lastLogged = now
        suppressed = 0
      } else {
        suppressed++
      }
      failing = true
    },
    success (): void {
      if (!failing) return
      failing = false
      log.info({ failuresSinceLastLog: suppressed }, `${what} works again`)
      suppressed = 0
    }
  }
}
