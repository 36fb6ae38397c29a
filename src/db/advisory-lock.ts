import postgres from 'postgres'
import { LOCKS, type LockName } from './locks.js'

export type LockOutcome<T> = { acquired: true, result: T } | { acquired: false }

/**
 * Runs fn while holding a cluster-wide advisory lock. The lock lives on the
 * single connection of a dedicated client, so it is taken and released on
 * the same session (a pooled client could release it on another); if the
 * process dies, Postgres drops it with the session. fn gets that client.
 * With wait, it queues for the lock; without, it returns at once when
 * another process holds it.
 */
export async function withAdvisoryLock<T> (databaseUrl: string, name: LockName, fn: (sql: postgres.Sql) => Promise<T>, { wait = false } = {}): Promise<LockOutcome<T>> {
  const sql = postgres(databaseUrl, { max: 1, connect_timeout: 10, onnotice: () => {}, connection: { application_name: `chat-attachments:${name}` } })
  try {
    if (wait) {
      await sql`SELECT pg_advisory_lock(hashtextextended(${LOCKS[name]}, 0))`
    } else {
      const [row] = await sql<Array<{ locked: boolean }>>`SELECT pg_try_advisory_lock(hashtextextended(${LOCKS[name]}, 0)) AS locked`
      if (!row?.locked) return { acquired: false }
    }
    try {
      return { acquired: true, result: await fn(sql) }
    } finally {
      await sql`SELECT pg_advisory_unlock(hashtextextended(${LOCKS[name]}, 0))`.catch(() => {})
    }
  } finally {
    await sql.end({ timeout: 5 })
  }
}
