import { fileURLToPath } from 'node:url'
import { drizzle } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import { withAdvisoryLock } from './advisory-lock.js'

// Resolves to <root>/migrations from both src/db and dist/db.
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url))

/**
 * Applies the committed migrations. Safe to run from several pods at once:
 * each waits for the advisory lock, then finds nothing left to apply. The
 * migrations run on the lock's own connection.
 */
export async function runMigrations (databaseUrl: string, migrationsFolder = MIGRATIONS_FOLDER): Promise<void> {
  await withAdvisoryLock(databaseUrl, 'migrate', (sql) => migrate(drizzle(sql), { migrationsFolder }), { wait: true })
}
