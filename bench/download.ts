// Download benchmark: `node --import tsx bench/download.ts` (bench/README.md).
//
// In one run, against real Postgres, Redis, the local S3-protocol server and
// the service in its own process: throughput and latency of
// GET /v1/attachments/:dialogId/:attachmentId for a 304 (If-None-Match), a
// 20 KiB and a 64 MiB body, the same objects fetched straight from the S3
// server, the ratio; and the service's RSS while slow clients stream the
// 64 MiB object. Progress goes to stderr, the summary and one JSON line to
// stdout. Everything it creates is removed at the end, also on failure.
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { attachmentKey } from '../src/storage/keys.js'
import { linkAttachments, statusOf, tokenSigner, uploadAttachment, type UploadedAttachment } from './lib/api.js'
import {
  Cleanup, createDatabase, freePort, openFileLimit, prepareRedis, processStats,
  sleep, startLocalS3, startService, stopChild, summariseLog
} from './lib/infra.js'
import { dropResponseBodies, measure, type LoadCase, type LoadFigures } from './lib/load.js'
import { memoryPhase } from './lib/memory.js'
import { findProblems, formatReport, reportJson, type CaseReport, type Report } from './lib/report.js'

const SMALL_BYTES = 20 * 1024
const LARGE_BYTES = 64 * 1024 * 1024
const BUCKET = 'bench-attachments'
const KEY_PREFIX = 'attachments/'
const JWT_SECRET = randomBytes(32).toString('hex')

function knob (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`)
  return value
}

const knobs = {
  durationS: knob('BENCH_DURATION_S', 10),
  warmupS: knob('BENCH_WARMUP_S', 3),
  connections: Math.round(knob('BENCH_CONNECTIONS', 32)),
  largeConnections: Math.round(knob('BENCH_LARGE_CONNECTIONS', 4)),
  slowClients: Math.round(knob('BENCH_SLOW_CLIENTS', 20)),
  slowSeconds: knob('BENCH_SLOW_S', 10),
  slowBytesPerSecond: knob('BENCH_SLOW_MBPS', 1.5) * 1e6,
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn'
}
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

const started = performance.now()
const note = (message: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`)

async function main (cleanup: Cleanup): Promise<Report> {
  const startedAt = new Date().toISOString()
  const bodiesDropped = dropResponseBodies()
  const workDir = await mkdtemp(join(tmpdir(), 'chat-attachments-bench-'))
  cleanup.add(`temp dir ${workDir}`, () => rm(workDir, { recursive: true, force: true }))

  note('creating a throw-away database, checking Redis, starting the local S3 server')
  const redisPrefix = `ca-bench:${randomBytes(6).toString('hex')}:`
  const [database, redis, s3] = await Promise.all([
    createDatabase(databaseUrl, cleanup),
    prepareRedis(redisUrl, redisPrefix, cleanup),
    startLocalS3(join(workDir, 's3'), BUCKET, cleanup)
  ])

  const port = await freePort()
  const logFile = join(workDir, 'service.log')
  const serviceEnv = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: knobs.logLevel,
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: redisPrefix,
    S3_BUCKET: BUCKET,
    S3_REGION: 'us-east-1',
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_KEY_PREFIX: KEY_PREFIX,
    JWT_SECRET,
    // The benchmark is one user; the limiter still runs (and hits Redis) on every request.
    RATE_LIMIT_MAX: '1000000000',
    ATTACHMENT_MAX_BYTES: String(LARGE_BYTES)
  }
  note(`starting the service on port ${port} (LOG_LEVEL=${knobs.logLevel})`)
  let service = await startService(serviceEnv, logFile, cleanup)

  // Tokens outlive the longest run the knobs allow.
  const sign = tokenSigner(JWT_SECRET, 6 * 3600)
  const dialogId = `bench-dialog-${randomBytes(4).toString('hex')}`
  const ownerId = `bench-user-${randomBytes(4).toString('hex')}`
  const serviceToken = sign({ sub: 'chat-app', scope: 'attachments:write' })
  const userAuth = { authorization: `Bearer ${sign({ sub: ownerId })}` }

  note('uploading the 20 KiB and 64 MiB objects through the internal API, linking them')
  const smallData = randomBytes(SMALL_BYTES)
  const largeData = randomBytes(LARGE_BYTES)
  const small = await uploadAttachment(service.baseUrl, serviceToken, { dialogId, ownerId, fileName: 'small.bin', data: smallData })
  const large = await uploadAttachment(service.baseUrl, serviceToken, { dialogId, ownerId, fileName: 'large.bin', data: largeData })
  await linkAttachments(service.baseUrl, serviceToken, dialogId, 'bench-message-1', [small.id, large.id])

  // The same objects on the S3 server: presigned URLs (the signature is
  // checked, as for the service's own requests) and S3's entity tags.
  const s3Client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
  cleanup.add('S3 client', () => s3Client.destroy())
  const direct = async (attachment: UploadedAttachment) => {
    const Key = attachmentKey(KEY_PREFIX, dialogId, attachment.id)
    const head = await s3Client.send(new HeadObjectCommand({ Bucket: BUCKET, Key }))
    const url = await getSignedUrl(s3Client, new GetObjectCommand({ Bucket: BUCKET, Key }), { expiresIn: 6 * 3600 })
    return { url, etag: head.ETag ?? '' }
  }
  const [smallS3, largeS3] = [await direct(small), await direct(large)]
  const smallUrl = `${service.baseUrl}${small.url}`
  const largeUrl = `${service.baseUrl}${large.url}`

  note('checking bodies and conditional answers of the service and of S3')
  await expectBody(smallUrl, userAuth, smallData, 'service, 20 KiB')
  await expectBody(largeUrl, userAuth, largeData, 'service, 64 MiB')
  await expectBody(smallS3.url, {}, smallData, 'S3, 20 KiB')
  await expectBody(largeS3.url, {}, largeData, 'S3, 64 MiB')
  const conditional = {
    service: await statusOf(smallUrl, { ...userAuth, 'if-none-match': small.etag }),
    // What fetch() in a browser page sends for a conditional request (see statusOf).
    serviceWithNoCache: await statusOf(smallUrl, { ...userAuth, 'if-none-match': small.etag, 'cache-control': 'no-cache' }),
    s3: await statusOf(smallS3.url, { 'if-none-match': smallS3.etag }),
    s3WithNoCache: await statusOf(smallS3.url, { 'if-none-match': smallS3.etag, 'cache-control': 'no-cache' })
  }
  if (conditional.service !== 304) throw new Error(`the service answered ${conditional.service} to If-None-Match with its own ETag`)

  // A fresh process, so that the memory baseline holds none of the upload's
  // garbage; a few requests first load the code the downloads run.
  note('restarting the service for a clean memory baseline')
  await stopChild(service.process)
  service = await startService(serviceEnv, logFile, cleanup)
  for (let i = 0; i < 20; i++) await statusOf(smallUrl, userAuth)
  await statusOf(smallUrl, { ...userAuth, 'if-none-match': small.etag })
  await statusOf(largeUrl, { ...userAuth, range: 'bytes=0-1048575' })
  await sleep(2_000)
  note(`memory: ${knobs.slowClients} clients stream the 64 MiB object at ${knobs.slowBytesPerSecond / 1e6} MB/s each for ${knobs.slowSeconds} s`)
  const memory = await memoryPhase({
    pid: service.pid,
    s3Pid: s3.pid,
    url: largeUrl,
    headers: userAuth,
    ports: { service: port, s3: Number(new URL(s3.endpoint).port) },
    clients: knobs.slowClients,
    seconds: knobs.slowSeconds,
    bytesPerSecond: knobs.slowBytesPerSecond,
    objectBytes: LARGE_BYTES,
    sampleIntervalMs: 100
  })

  const run = async (label: string, url: string, headers: Record<string, string>, options: Pick<LoadCase, 'connections' | 'expectStatus' | 'bodyBytes' | 'maxRequests'>): Promise<LoadFigures> => {
    note(`autocannon: ${label}, ${options.connections} connections, ${knobs.warmupS} s warm-up + ${knobs.durationS} s`)
    // Postgres backends of the service's pool and Redis: the service's dependencies.
    const watch = { service: [service.pid], s3: [s3.pid], deps: [...await database.backendPids(), redis.serverPid] }
    return measure({ url, headers, durationS: knobs.durationS, warmupS: knobs.warmupS, watch, ...options })
  }
  const small200 = { connections: knobs.connections, expectStatus: 200, bodyBytes: SMALL_BYTES }
  const large200 = { connections: knobs.largeConnections, expectStatus: 200, bodyBytes: LARGE_BYTES }
  const smallCase = { service: await run('service 20 KiB', smallUrl, userAuth, small200), s3: await run('S3 20 KiB', smallS3.url, {}, small200) }
  const largeCase = { service: await run('service 64 MiB', largeUrl, userAuth, large200), s3: await run('S3 64 MiB', largeS3.url, {}, large200) }
  const service304 = await run('service 304', smallUrl, { ...userAuth, 'if-none-match': small.etag }, { connections: knobs.connections, expectStatus: 304, bodyBytes: 0 })
  // s3rver opens the object before it evaluates If-None-Match and never
  // closes it on a 304: one descriptor per answer. The S3 304 run goes last
  // and stops before the server runs out of descriptors.
  const s3FdsBefore = (await processStats(s3.pid)).openFds
  const headroom = (await openFileLimit(s3.pid)) - s3FdsBefore - 512
  const s3304 = await run('S3 conditional GET', smallS3.url, { 'if-none-match': smallS3.etag }, {
    connections: knobs.connections,
    expectStatus: conditional.s3,
    bodyBytes: conditional.s3 === 200 ? SMALL_BYTES : 0,
    ...(Number.isFinite(headroom) ? { maxRequests: Math.max(knobs.connections * 4, headroom) } : {})
  })
  const s3FdsAfter = (await processStats(s3.pid)).openFds

  const cases: CaseReport[] = [
    {
      name: '304',
      bodyBytes: 0,
      service: service304,
      s3: s3304,
      ratio: service304.reqPerSec / s3304.reqPerSec,
      s3Note: `S3 answered ${conditional.s3} to GET with If-None-Match: <its ETag>`
    },
    { name: '20 KiB', bodyBytes: SMALL_BYTES, ...smallCase, ratio: smallCase.service.reqPerSec / smallCase.s3.reqPerSec },
    { name: '64 MiB', bodyBytes: LARGE_BYTES, ...largeCase, ratio: largeCase.service.reqPerSec / largeCase.s3.reqPerSec }
  ]

  const redisRateLimitKeys = await redis.countKeys()
  const log = await summariseLog(logFile)
  const problems = findProblems(cases, memory, log, { fdsBefore: s3FdsBefore, fdsAfter: s3FdsAfter, requests: s3304.requests })
  if (conditional.serviceWithNoCache !== 304) {
    problems.push(`service: If-None-Match with the current ETag plus Cache-Control: no-cache (what fetch() sends) answers ${conditional.serviceWithNoCache}, ` +
      `without no-cache ${conditional.service}; S3 answers ${conditional.s3WithNoCache}. RFC 9110 §13.2.2 does not look at Cache-Control`)
  }
  if (!bodiesDropped) problems.push('autocannon internals changed, response bodies are kept as strings: the 64 MiB figures are limited by the load generator')
  if (redisRateLimitKeys === 0) problems.push(`no rate-limit key under ${redisPrefix} in Redis: the limiter did not reach Redis`)
  return {
    startedAt,
    node: process.version,
    cpus: availableParallelism(),
    settings: {
      durationS: knobs.durationS,
      warmupS: knobs.warmupS,
      connections: knobs.connections,
      largeConnections: knobs.largeConnections,
      smallBytes: SMALL_BYTES,
      largeBytes: LARGE_BYTES,
      serviceLogLevel: knobs.logLevel
    },
    cases,
    conditional,
    memory,
    redisRateLimitKeys,
    serviceLog: { warn: log.warn, error: log.error },
    problems,
    totalSeconds: (performance.now() - started) / 1000
  }
}

async function expectBody (url: string, headers: Record<string, string>, data: Buffer, label: string): Promise<void> {
  const res = await fetch(url, { headers })
  const body = Buffer.from(await res.arrayBuffer())
  const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')
  if (res.status !== 200 || digest(body) !== digest(data)) {
    throw new Error(`${label}: expected 200 with the uploaded ${data.length} bytes, got ${res.status} with ${body.length} bytes`)
  }
}

const cleanup = new Cleanup()
let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true
    note(`${signal}: cleaning up`)
    cleanup.run().finally(() => process.exit(130))
  })
}

try {
  const report = await main(cleanup)
  process.stdout.write(`${formatReport(report)}\n${reportJson(report)}\n`)
} catch (err) {
  if (!interrupted) {
    process.stderr.write(`benchmark failed: ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = 1
  }
} finally {
  note('cleaning up')
  const failures = await cleanup.run()
  for (const failure of failures) process.stderr.write(`cleanup failed: ${failure}\n`)
  if (failures.length > 0) process.exitCode = 1
}
