// Postgres observed at the driver handle drizzle uses: every query
// (sql.unsafe) and transaction (sql.begin) is counted in flight from the
// moment it is issued until it settles. postgres.js does not expose its
// queue, so a pool wait is counted when an operation is issued while
// DATABASE_POOL_MAX of them are already in flight: it cannot have found a
// free connection. Failures are counted by kind, whoever catches them.
import type postgres from 'postgres'
import { isDatabaseUnavailable } from '../db/errors.js'
import type { Metrics } from './metrics.js'
import { stringField } from '../fields.js'

type PostgresMetrics = Metrics['postgres']

export function observeSql (sql: postgres.Sql, poolSize: number, metrics: PostgresMetrics): postgres.Sql {
  let inFlight = 0
  const started = () => {
    if (inFlight >= poolSize) metrics.poolWaits.inc()
    inFlight++
    metrics.inFlight.inc()
  }
  const settled = (err?: unknown) => {
    inFlight--
    metrics.inFlight.dec()
    if (err !== undefined) metrics.errors.inc({ kind: errorKind(err) })
  }
  return new Proxy(sql, {
    get (target, property, receiver) {
      if (property === 'unsafe') {
        return (...args: Parameters<postgres.Sql['unsafe']>) => {
          const query = target.unsafe(...args)
          // A query runs when it is awaited: observe its settling through
          // its own then(), without starting it early.
          const then = query.then.bind(query)
          let observed = false
          Object.defineProperty(query, 'then', {
            configurable: true,
            value: (onFulfilled?: (value: unknown) => unknown, onRejected?: (reason: unknown) => unknown) => {
              if (!observed) {
                observed = true
                started()
                then(() => settled(), settled)
              }
              return then(onFulfilled as never, onRejected as never)
            }
          })
          return query
        }
      }
      if (property === 'begin') {
        return async (...args: unknown[]) => {
          started()
          try {
            const result = await (target.begin as (...a: unknown[]) => Promise<unknown>)(...args)
            settled()
            return result
          } catch (err) {
            settled(err)
            throw err
          }
        }
      }
      return Reflect.get(target, property, receiver)
    }
  })
}

function errorKind (err: unknown): string {
  let current: unknown = err
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (stringField(current, 'code') === '57014') return 'timeout'
    current = current.cause
  }
  return isDatabaseUnavailable(err) ? 'unavailable' : 'query'
}
