import { fileURLToPath } from 'node:url'
import { drizzle } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'
import { LOCKS } from './locks.js'

// Resolves to <root>/migrations from both src/db and dist/db.
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url))

/**
 * Applies the committed migrations. Safe to run from several pods at once:
 * a session advisory lock serialises them, and it is taken, used and released
 * on the single connection of a dedicated client (a pooled client could take
 * the lock on one connection and "release" it on another).
 */
export async function runMigrations (databaseUrl: string, migrationsFolder = MIGRATIONS_FOLDER): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, connect_timeout: 10, onnotice: () => {} })
  try {
    await sql`SELECT pg_advisory_lock(hashtextextended(${LOCKS.migrate}, 0))`
    try {
      await migrate(drizzle(sql), { migrationsFolder })
    } finally {
      await sql`SELECT pg_advisory_unlock(hashtextextended(${LOCKS.migrate}, 0))`
    }
  } finally {
    await sql.end({ timeout: 5 })
  }
}
