// `npm run dev`: the service on a laptop with nothing but Node.js.
// Settings: the environment, then .env, then development defaults
// (scripts/dev/settings.ts). DATABASE_URL unset: an embedded Postgres;
// S3_ENDPOINT unset: the local S3-protocol server (scripts/dev/services.ts);
// REDIS_URL unset: the rate limit counts in this process. Migrates the
// database, serves the app in this process, uploads a sample image on the
// first start and prints tokens and its URL. SIGINT, SIGTERM or SIGHUP (to
// this process alone, or to the whole group as a terminal's Ctrl-C does)
// stops the server and every process it started. A failed start prints one
// line saying what to do, and exits 1. Development only: production runs
// `node dist/server.js` with its own settings.
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { loadConfig, type Config } from '../src/config.js'
import { startupHint } from './dev/hints.js'
import { ensureSample, SAMPLE } from './dev/sample.js'
import { ensureDatabase, isAlive, LocalServices } from './dev/services.js'
import { localSettings } from './dev/settings.js'
import { mintToken } from './dev/tokens.js'

const TOKEN_TTL_SECONDS = 12 * 3600
const CLOSE_TIMEOUT_MS = 10_000

const settings = localSettings()
// The service reads only its config object; the AWS SDK also reads the
// process environment (its Node-version notice, the credential chain).
Object.assign(process.env, settings.env)
const services = new LocalServices(settings)
let app: FastifyInstance | undefined
let stopping: Promise<void> | undefined

/** Stops the app, then the services this process started; exits with `code`. */
function stop (code: number, message?: string): Promise<void> {
  if (stopping) return stopping
  if (message) process.stderr.write(`${message}\n`)
  // From now on a service that stops is expected to (a terminal's Ctrl-C reaches them too).
  services.onUnexpectedExit = () => {}
  stopping = (async () => {
    const closing = app?.close()
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]).catch(() => {})
    await services.stop()
    process.exit(code)
  })()
  return stopping
}

// A terminal's Ctrl-C arrives twice: from the terminal (this process is in
// its foreground group) and forwarded by npm. So the first two signals ask
// for one clean stop, and a third (Ctrl-C pressed again) means no more
// waiting.
let signals = 0
function onSignal (): void {
  signals++
  if (signals >= 3) {
    services.kill()
    process.exit(1)
  }
  stop(0)
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal)
services.onUnexpectedExit = (message) => { stop(1, message) }
process.on('uncaughtException', (err) => stop(1, `Stopped after an uncaught error: ${err.stack ?? err.message}`))
process.on('unhandledRejection', (err) => stop(1, `Stopped after an unhandled rejection: ${err instanceof Error ? err.stack : String(err)}`))

try {
  // The configuration is checked before anything starts; the addresses of
  // the local services are filled in below.
  loadConfig({ DATABASE_URL: 'postgres://localhost/check', S3_ENDPOINT: 'http://localhost', ...services.env })
  const starting = services.start({ database: true, s3: true }, { publish: true })
  // Loading the service's modules takes seconds: meanwhile the services start.
  const modules = Promise.all([import('../src/app.js'), import('../src/db/migrate.js')])
  modules.catch(() => {}) // awaited below, unless the start fails first
  await starting
  const [{ buildApp }, { runMigrations }] = await modules
  const env = services.env
  if (!services.embeddedDatabase) await ensureDatabase(env.DATABASE_URL!)
  await runMigrations(env.DATABASE_URL!)
  const config = loadConfig(env)
  app = buildApp({ config, log: { pretty: process.stdout.isTTY } })
  await app.listen({ port: config.PORT, host: config.HOST })
  const baseUrl = advertisedUrl(config.HOST, (app.server.address() as AddressInfo).port)
  await printBanner(config, baseUrl)
  if (services.owner !== undefined) watchOwner(services.owner)
} catch (err) {
  if (!stopping) await stop(1, startupHint(err, services.env))
}

/**
 * The URL to show: localhost rather than 127.0.0.1 for a loopback or
 * wildcard address, so that a front end on localhost:<another port> is the
 * same site (its cookies and the default CORP rules then just work).
 */
function advertisedUrl (host: string, port: number): string {
  const local = ['127.0.0.1', 'localhost', '0.0.0.0', '::', '::1'].includes(host)
  return `http://${local ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${port}`
}

async function printBanner (config: Config, baseUrl: string): Promise<void> {
  const lines = [
    '',
    `chat-attachments is running on ${baseUrl}  (Ctrl-C stops it and everything it started)`,
    ...services.notes.map((note) => `  ${note}`)
  ]
  if (!services.notes.some((note) => note.startsWith('Postgres'))) lines.push(`  Postgres  DATABASE_URL ${describeUrl(config.DATABASE_URL)}`)
  if (!services.notes.some((note) => note.startsWith('S3'))) lines.push(`  S3        S3_ENDPOINT ${config.S3_ENDPOINT ?? '(AWS)'}, bucket ${config.S3_BUCKET}`)
  lines.push(config.RATE_LIMIT_STORE === 'memory'
    ? '  Redis     none: the rate limit counts in this process (RATE_LIMIT_STORE=memory)'
    : `  Redis     REDIS_URL ${describeUrl(config.REDIS_URL!)}`)

  const serviceToken = mintToken(config, { kind: 'service' }, TOKEN_TTL_SECONDS)
  const viewerToken = mintToken(config, { kind: 'viewer', sub: SAMPLE.ownerId }, TOKEN_TTL_SECONDS)
  if (!serviceToken || !viewerToken) {
    lines.push('', 'JWT_PUBLIC_KEY is set: sign tokens with its private key (no tokens printed, no sample image).')
    process.stdout.write(`${lines.join('\n')}\n\n`)
    return
  }
  const sample = await ensureSample(baseUrl, serviceToken)
  const sampleUrl = `${baseUrl}/v1/attachments/${SAMPLE.dialogId}/${sample.id}`
  const linkTtl = config.QUERY_TOKEN_MAX_TTL_SECONDS
  const linkToken = mintToken(config, { kind: 'link', dialogId: SAMPLE.dialogId }, linkTtl)
  lines.push(
    '',
    `Service token (12 h; the chat app's, for ${baseUrl}/internal/v1):`,
    `  export TOKEN=${serviceToken}`,
    `Viewer token (12 h; user ${SAMPLE.ownerId}, owner of dialog ${SAMPLE.dialogId}):`,
    `  export VIEWER_TOKEN=${viewerToken}`,
    `Sample image (${sample.created ? 'uploaded and linked just now' : 'uploaded on the first start'}); open in a browser (link token, ${linkTtl} s):`,
    `  ${sampleUrl}?token=${linkToken}`,
    `  or: curl -H "Authorization: Bearer $VIEWER_TOKEN" -o sample.png ${sampleUrl}`,
    'More tokens: npm run -s token -- --help',
    ''
  )
  process.stdout.write(`${lines.join('\n')}\n`)
}

/** Host, port and database of a URL, without its credentials. */
function describeUrl (url: string): string {
  const { protocol, host, pathname } = new URL(url)
  return `${protocol}//${host}${pathname}`
}

/** A second instance uses another's Postgres and S3: it stops when that one does. */
function watchOwner (owner: number): void {
  setInterval(() => {
    if (!isAlive(owner)) stop(1, `The npm run dev (pid ${owner}) that runs the local Postgres and S3 has stopped; stopping too.`)
  }, 1_000).unref()
}
