// Errors that mean "Postgres is unreachable or overloaded right now" (answer
// 503, retryable) as opposed to a bug (500). drizzle wraps driver errors, so
// the cause chain is walked.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE',
  'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED'
])
// SQLSTATE classes 08 (connection), 53 (insufficient resources), 57P (operator
// intervention, e.g. shutdown) and 57014 (statement timeout).
const SQLSTATE_UNAVAILABLE = /^(08|53|57P)|^57014$/

export function isDatabaseUnavailable (err: unknown): boolean {
  let current: unknown = err
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && (CONNECTION_CODES.has(code) || SQLSTATE_UNAVAILABLE.test(code))) return true
    current = current.cause
  }
  return false
}
