// One line for a failed local start: what failed and what to do about it,
// instead of a stack trace. LOG_LEVEL=debug adds the stack of an unexpected error.
import { ConfigError } from '../../src/config.js'
import { StartupError } from './services.js'

interface ErrorFields { code?: string, address?: string, port?: number, hostname?: string, syscall?: string }

const EMBEDDED = 'or unset DATABASE_URL to use the embedded Postgres'

/** The hint for an error of a local start; `env` is the environment it started with. */
export function startupHint (err: unknown, env: Record<string, string | undefined>): string {
  if (err instanceof ConfigError || err instanceof StartupError) return err.message
  const error = (err ?? {}) as Error & ErrorFields
  const database = env.DATABASE_URL ? safeUrl(env.DATABASE_URL) : undefined
  const where = database ? `${database.hostname}:${database.port || 5432}` : 'Postgres'
  const role = database ? decodeURIComponent(database.username) || 'the default role' : 'the role'
  if (error.syscall === 'listen' && error.code === 'EADDRINUSE') {
    return `Port ${env.PORT} on ${env.HOST} is in use (another npm run dev?): start this one on another port, e.g. PORT=3001 npm run dev`
  }
  if (error.syscall === 'listen' && error.code === 'EACCES') return `Port ${env.PORT} needs privileges here: set PORT above 1023`
  switch (error.code) {
    case 'ECONNREFUSED':
      return `Cannot reach Postgres at ${where} (DATABASE_URL): connection refused. Start it, correct DATABASE_URL (environment or .env), ${EMBEDDED}`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `Cannot resolve the Postgres host ${error.hostname ?? where} (DATABASE_URL). Correct DATABASE_URL (environment or .env), ${EMBEDDED}`
    case 'CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return `Postgres at ${where} (DATABASE_URL) does not answer. Check that it runs and is reachable, ${EMBEDDED}`
    case '28000':
    case '28P01':
      return `Postgres at ${where} refused ${role}: ${error.message}. Correct the user or password in DATABASE_URL, ${EMBEDDED}`
    case '42501':
      return `Postgres at ${where}: ${error.message}. Create the database yourself (createdb), or give ${role} the CREATEDB privilege`
  }
  if (env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace') return `Start failed: ${error.stack ?? String(err)}`
  return `Start failed: ${error.message ?? String(err)} (LOG_LEVEL=debug shows the stack)`
}

function safeUrl (url: string): URL | undefined {
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}
