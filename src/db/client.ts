import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import type { DatabaseConfig } from '../config.js'
import type { Metrics } from '../metrics/metrics.js'
import { observeSql } from '../metrics/postgres.js'
import * as schema from './schema.js'

export type Db = PostgresJsDatabase<typeof schema>

export interface Database {
  db: Db
  sql: postgres.Sql
  /** Idempotent; waits up to 5 s for running queries. */
  close (): Promise<void>
}

export interface DatabaseOptions {
  max?: number
  applicationName?: string
  /** Counts the queries drizzle runs (errors, pool waits). */
  metrics?: Metrics['postgres']
}

export function createDatabase (config: DatabaseConfig, options: DatabaseOptions = {}): Database {
  const max = options.max ?? config.DATABASE_POOL_MAX
  const sql = postgres(config.DATABASE_URL, {
    max,
    // Fail fast when Postgres is unreachable instead of queueing requests.
    connect_timeout: 5,
    idle_timeout: 30,
    max_lifetime: 30 * 60,
    onnotice: () => {},
    connection: {
      application_name: options.applicationName ?? 'chat-attachments',
      statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS
    }
  })
  let closing: Promise<void> | undefined
  return {
    db: drizzle(options.metrics ? observeSql(sql, max, options.metrics) : sql, { schema }),
    sql,
    close: () => (closing ??= sql.end({ timeout: 5 }))
  }
}
