// Applies the committed migrations to DATABASE_URL. Exit 0 on success,
// 1 on failure (the reason on stderr).
import { ConfigError, loadConfig } from '../config.js'
import { runMigrations } from '../db/migrate.js'

try {
  const config = loadConfig(process.env, ['DATABASE_URL'])
  const started = Date.now()
  await runMigrations(config.DATABASE_URL)
  process.stdout.write(`${JSON.stringify({ migrated: true, durationMs: Date.now() - started })}\n`)
} catch (err) {
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `migration failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
}
