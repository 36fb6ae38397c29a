// Errors that mean "Postgres is unreachable or overloaded right now" (answer
// 503, retryable) as opposed to a bug (500).
//
// Only errors that come from the database count. A network code alone
// (ECONNRESET, ETIMEDOUT...) says nothing about where it came from: a client
// that hangs up in the middle of its request body raises ECONNRESET too, and
// must not be reported as a database outage. So network codes count only
// inside a failed query (drizzle wraps every driver error in a
// DrizzleQueryError whose cause is the driver's error); the driver's own
// connection codes and the SQLSTATEs below count wherever they appear.
// (A transaction's BEGIN is not wrapped by drizzle; postgres.js marks every
// error of a query it ran with an own `query` property, which counts too.)
import { DrizzleQueryError } from 'drizzle-orm/errors'
import { fieldOf, stringField } from '../fields.js'

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE'])
// postgres.js' own codes for a connection it could not open or lost.
const DRIVER_CODES = new Set(['CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED'])
// SQLSTATE classes 08 (connection), 53 (insufficient resources), 57P (operator
// intervention, e.g. shutdown) and 57014 (statement timeout).
const SQLSTATE_UNAVAILABLE = /^(08|53|57P)|^57014$/

export function isDatabaseUnavailable (err: unknown): boolean {
  let current: unknown = err
  let inQuery = false
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof DrizzleQueryError || Object.hasOwn(current, 'query')) inQuery = true
    const code = fieldOf(current, 'code')
    const name = stringField(current, 'name')
    if (typeof code === 'string') {
      if (DRIVER_CODES.has(code)) return true
      if (name === 'PostgresError' && SQLSTATE_UNAVAILABLE.test(code)) return true
      if (inQuery && (NETWORK_CODES.has(code) || SQLSTATE_UNAVAILABLE.test(code))) return true
    }
    current = current.cause
  }
  return false
}
