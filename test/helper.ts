// Builds the real service against real Postgres, Redis and an S3-protocol
// server. Each test file gets its own database, bucket directory and Redis
// key prefix, so files run in parallel without seeing each other. Their
// names carry the test process's id, so what a killed file leaves behind is
// swept by the next run (support/leftovers.ts).
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { createSigner } from 'fast-jwt'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import postgres from 'postgres'
import { buildApp } from '../src/app.js'
import { loadConfig, type Config, type ConfigInput } from '../src/config.js'
import { runMigrations } from '../src/db/migrate.js'
import { BASE_DATABASE_URL, databaseName, deleteRedisKeys, REDIS_URL, redisPrefix as ownedRedisPrefix } from './support/leftovers.js'
import { startS3, type TestS3 } from './support/s3-server.js'
import { waitUntil } from './support/wait.js'

export { BASE_DATABASE_URL, REDIS_URL }
export const JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256!'

interface Teardown { teardown (fn: () => unknown): void }

/** A fresh, empty (not migrated) database; dropped when the test ends. */
export async function createEmptyDatabase (t: Teardown): Promise<{ url: string, sql: postgres.Sql }> {
  const name = databaseName()
  const admin = postgres(BASE_DATABASE_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`CREATE DATABASE ${name}`)
  const url = new URL(BASE_DATABASE_URL)
  url.pathname = `/${name}`
  const sql = postgres(url.toString(), { max: 4, onnotice: () => {} })
  t.teardown(async () => {
    await sql.end({ timeout: 1 })
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end({ timeout: 1 })
  })
  return { url: url.toString(), sql }
}

/** A fresh, migrated database for one test file; dropped when it ends. */
export async function createTestDatabase (t: Teardown): Promise<{ url: string, sql: postgres.Sql }> {
  const database = await createEmptyDatabase(t)
  await runMigrations(database.url)
  return database
}

export async function createTestS3 (t: Teardown): Promise<TestS3> {
  const s3 = await startS3()
  t.teardown(() => s3.close())
  return s3
}

export interface TestContext {
  databaseUrl: string
  /** Direct access to the file's database, for assertions. */
  sql: postgres.Sql
  s3: TestS3
  env: ConfigInput
  redisPrefix: string
}

export async function setup (t: Teardown): Promise<TestContext> {
  const [{ url, sql }, s3] = await Promise.all([createTestDatabase(t), createTestS3(t)])
  const redisPrefix = ownedRedisPrefix()
  t.teardown(async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
    try {
      await deleteRedisKeys(redis, redisPrefix)
    } finally {
      redis.disconnect()
    }
  })
  const ctx: TestContext = {
    databaseUrl: url,
    sql,
    s3,
    redisPrefix,
    get env () {
      return {
        DATABASE_URL: url,
        REDIS_URL,
        S3_BUCKET: s3.bucket,
        S3_REGION: 'us-east-1',
        S3_ENDPOINT: s3.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
        JWT_SECRET,
        REDIS_KEY_PREFIX: redisPrefix,
        // The longest allowed: on a starved machine a short command timeout
        // fires before the answer is read, the limiter fails open and counts
        // go wrong. Tests of the timeout set their own.
        REDIS_TIMEOUT_MS: '5000',
        LOG_LEVEL: 'info',
        // Files run in parallel: each app's metrics listener on a free port.
        METRICS_PORT: '0',
        METRICS_HOST: '127.0.0.1'
      }
    }
  }
  return ctx
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  /** Every log line the app wrote, as text. */
  logs: string[]
}

/**
 * Builds and readies the real app; closed when the test ends. On the shared
 * Redis (always up) it also waits until the app's Redis client is ready:
 * the app starts without Redis after a moment (the limiter fails open), and
 * a test that counts must not race that. A test on a Redis of its own waits
 * with redisReady() where it needs to.
 */
export async function build (t: Teardown, ctx: TestContext, overrides: ConfigInput = {}): Promise<TestApp> {
  const config = loadConfig({ ...ctx.env, ...overrides })
  const logs: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, callback) {
      logs.push(String(chunk))
      callback()
    }
  })
  const app = buildApp({ config, log: { stream } })
  t.teardown(() => app.close())
  await app.ready()
  if (config.REDIS_URL === REDIS_URL) await redisReady(app)
  return { app, config, logs }
}

/** Resolves once the app's Redis client is connected and ready for commands. */
export async function redisReady (app: FastifyInstance): Promise<void> {
  await waitUntil(() => app.redis.status === 'ready', 'the app\'s Redis client is ready')
}

/** Listens on a loopback port, for tests that need a real socket. */
export async function listen (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('no address')
  return `http://127.0.0.1:${address.port}`
}

const signer = createSigner({ key: JWT_SECRET, algorithm: 'HS256' })

/** A signed token; exp defaults to 5 minutes from now. */
export function token (claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000)
  return signer({ iat: now, exp: now + 300, ...claims })
}

export function serviceToken (claims: Record<string, unknown> = {}): string {
  return token({ sub: 'chat-app', scope: 'attachments:write', ...claims })
}

export const auth = (jwt = serviceToken()) => ({ authorization: `Bearer ${jwt}` })

/** A random id valid for dialogs, owners and messages. */
export function id (prefix = 'x'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`
}
