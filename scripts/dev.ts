// `npm run dev`: the service on a developer machine with nothing but local
// Postgres and Redis. Fills in development defaults for every variable that
// is not set (in the environment or in .env), starts a local S3-protocol
// server unless S3_ENDPOINT points elsewhere, creates and migrates the
// database, then runs src/server.ts and prints a service token to try the API.
// Development only: the image runs `node dist/server.js` with real settings.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { parseEnv } from 'node:util'
import { createSigner } from 'fast-jwt'
import postgres from 'postgres'
import { runMigrations } from '../src/db/migrate.js'

const DEV_DEFAULTS: Record<string, string> = {
  PORT: '3000',
  HOST: '127.0.0.1',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/chat_attachments_dev',
  REDIS_URL: 'redis://127.0.0.1:6379',
  S3_BUCKET: 'chat-attachments-dev',
  S3_REGION: 'us-east-1',
  S3_FORCE_PATH_STYLE: 'true',
  S3_ACCESS_KEY_ID: 'S3RVER',
  S3_SECRET_ACCESS_KEY: 'S3RVER',
  JWT_SECRET: 'development-only-secret-change-me-0123456789'
}
const LOCAL_S3_PORT = '4569'

const fromFile = existsSync('.env') ? parseEnv(readFileSync('.env', 'utf8')) : {}
const env: Record<string, string | undefined> = { ...DEV_DEFAULTS, ...fromFile, ...process.env }

const children: Array<import('node:child_process').ChildProcess> = []
// A terminal's Ctrl-C reaches the children directly; forward a signal only
// to those still running shortly after, so none gets it twice.
const stopAll = () => {
  setTimeout(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  }, 250).unref()
}
process.on('SIGINT', stopAll)
process.on('SIGTERM', stopAll)

if (!env.S3_ENDPOINT) {
  env.S3_ENDPOINT = `http://127.0.0.1:${LOCAL_S3_PORT}`
  const s3 = spawn(process.execPath, ['--openssl-legacy-provider', 'scripts/local-s3.mjs', '.s3-data', LOCAL_S3_PORT, env.S3_BUCKET!], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(s3)
  await new Promise((resolve) => createInterface({ input: s3.stdout! }).once('line', resolve))
  console.log(`local S3-protocol server on ${env.S3_ENDPOINT}, data in .s3-data/`)
}

await ensureDatabase(env.DATABASE_URL!)
await runMigrations(env.DATABASE_URL!)

if (env.JWT_SECRET) {
  const now = Math.floor(Date.now() / 1000)
  const token = createSigner({ key: env.JWT_SECRET })({ sub: 'chat-app', scope: 'attachments:write', iat: now, exp: now + 12 * 3600 })
  console.log(`service token (12 h):\n  export TOKEN=${token}`)
}

const server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env, stdio: 'inherit' })
children.push(server)
server.on('exit', (code) => {
  stopAll()
  process.exitCode = code ?? 0
})

async function ensureDatabase (url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1)
  const maintenance = new URL(url)
  maintenance.pathname = '/postgres'
  const sql = postgres(maintenance.toString(), { max: 1, onnotice: () => {} })
  try {
    const [exists] = await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`
    if (!exists) await sql.unsafe(`CREATE DATABASE "${name.replaceAll('"', '""')}"`)
  } finally {
    await sql.end()
  }
}
