// Everything a run measures, started once and shared by the rows: a
// throw-away database and Redis prefix, s3rver (uploads) and nginx serving
// its files (reads), the Fastify hello and the naive SDK proxy, the service
// (`node dist/server.js`, one process at a time on the server core), and the
// objects: a 20 KiB PNG and a 64 MiB file uploaded through the service's API.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BenchContext, BenchObject, Knobs, ServiceOptions } from '../rows/row.js'
import { linkAttachments, tokenSigner, uploadFile } from './api.js'
import { pinBackends, pinSelf, planCores } from './cores.js'
import { Cleanup, createDatabase, freePort, prepareRedis, stopChild } from './infra.js'
import { measure, measureTurns, type LoadCase, type LoadFigures } from './load.js'
import { imageEnv } from './image-env.js'
import { findNginx, startNginx } from './nginx.js'
import { noisePng } from './png.js'
import { startBareRelay, startHello, startLocalS3, startNaiveProxy, startService, type RunningService } from './servers.js'

export const SMALL_BYTES = 20 * 1024
export const LARGE_BYTES = 64 * 1024 * 1024
const BUCKET = 'bench-attachments'
const KEY_PREFIX = 'attachments/'
const S3_CREDENTIALS = { S3_REGION: 'us-east-1', S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' }

export interface World extends BenchContext {
  /** The seeded bytes, to check every answer before measuring. */
  data: { small: Buffer, large: Buffer }
  logFile: string
  redisPrefix: string
  countRedisKeys: () => Promise<number>
}

export async function createWorld (knobs: Knobs, urls: { database: string, redis: string }, cleanup: Cleanup, note: (message: string) => void): Promise<World> {
  const cores = planCores()
  pinSelf(cores)
  note(`cores: ${cores.description}`)
  const nginxBinary = findNginx()
  const workDir = await mkdtemp(join(tmpdir(), 'chat-attachments-bench-'))
  cleanup.add(`temp dir ${workDir}`, () => rm(workDir, { recursive: true, force: true }))
  const dataDir = join(workDir, 's3')

  note(`creating a throw-away database, checking Redis, starting s3rver, and nginx (${nginxBinary}) on its files`)
  const redisPrefix = `ca-bench:${randomBytes(6).toString('hex')}:`
  const [database, redis, s3rver] = await Promise.all([
    createDatabase(urls.database, cleanup),
    prepareRedis(urls.redis, redisPrefix, cleanup),
    startLocalS3(dataDir, BUCKET, cores, cleanup)
  ])
  const nginx = await startNginx({ binary: nginxBinary, dataDir, bucket: BUCKET, workDir, plan: cores, cleanup })
  note('starting the Fastify hello, the naive SDK proxy and the bare node:http relay (both reading from nginx) on the server core')
  const hello = await startHello(cores, cleanup)
  const proxy = await startNaiveProxy({ S3_ENDPOINT: nginx.endpoint, S3_BUCKET: BUCKET, ...S3_CREDENTIALS }, cores, cleanup)
  const relay = await startBareRelay(`${nginx.endpoint}/${BUCKET}`, cores, cleanup)

  const port = await freePort()
  const logFile = knobs.serviceLog ?? join(workDir, 'service.log')
  const fromImage = imageEnv()
  note(`the image's process settings (Dockerfile): ${Object.entries(fromImage).map(([name, value]) => `${name}=${value}`).join(', ')}`)
  const baseEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    ...fromImage,
    PORT: String(port),
    HOST: '127.0.0.1',
    // Off: on its default port it would clash with any other instance on the machine.
    METRICS_PORT: '0',
    LOG_LEVEL: knobs.logLevel,
    DATABASE_URL: database.url,
    REDIS_URL: urls.redis,
    REDIS_KEY_PREFIX: redisPrefix,
    S3_BUCKET: BUCKET,
    S3_FORCE_PATH_STYLE: 'true',
    ...S3_CREDENTIALS,
    S3_KEY_PREFIX: KEY_PREFIX,
    JWT_SECRET: randomBytes(32).toString('hex'),
    // One user: the limiter still runs (and calls Redis) on every request but never throttles.
    RATE_LIMIT_MAX: '1000000000',
    // One user on every connection: its streams in flight must not hit the
    // per-user bound (429s would be counted as cheap answers).
    DOWNLOAD_MAX_CONCURRENT_PER_USER: String(Math.max(16, 2 * knobs.connections)),
    ATTACHMENT_MAX_BYTES: String(2 * LARGE_BYTES)
  }
  const nodeArgs = [...(knobs.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${knobs.cpuProfileDir}`] : []), ...knobs.nodeArgs]
  let current: { settings: string, service: RunningService } | undefined
  const serviceEnv = (options: ServiceOptions, servicePort: number) =>
    ({ ...baseEnv, PORT: String(servicePort), S3_ENDPOINT: (options.origin ?? 'nginx') === 'nginx' ? nginx.endpoint : s3rver.endpoint, ...options.env })
  const launch = (env: Record<string, string>, options: ServiceOptions, what: string) => {
    const extra = Object.entries(options.env ?? {}).map(([name, value]) => `, ${name}=${value}`).join('')
    note(`starting ${what} on port ${env.PORT}, S3_ENDPOINT = ${options.origin ?? 'nginx'}${extra}`)
    return startService(env, logFile, cores, cleanup, nodeArgs)
  }
  const service = async (options: ServiceOptions = {}): Promise<RunningService> => {
    const env = serviceEnv(options, port)
    const settings = JSON.stringify(env)
    if (current && current.settings === settings && !options.fresh) return current.service
    if (current) await stopChild(current.service.process)
    current = { settings, service: await launch(env, options, 'node dist/server.js') }
    return current.service
  }
  const secondService = async (options: ServiceOptions = {}): Promise<RunningService & { stop: () => Promise<void> }> => {
    const started = await launch(serviceEnv(options, await freePort()), options, 'a second node dist/server.js')
    return { ...started, stop: () => stopChild(started.process) }
  }
  /** Where the process under test runs, for the "other on server core" figure. */
  const serverCore = (c: { watch?: unknown }) => cores.pinned && c.watch ? { serverCore: Number(cores.serverCores) } : {}

  // Tokens outlive the longest run the knobs allow.
  const sign = tokenSigner(baseEnv.JWT_SECRET!, 6 * 3600)
  const dialogId = `bench-dialog-${randomBytes(4).toString('hex')}`
  const ownerId = `bench-user-${randomBytes(4).toString('hex')}`
  const serviceAuth = { authorization: `Bearer ${sign({ sub: 'chat-app', scope: 'attachments:write' })}` }
  const userAuth = { authorization: `Bearer ${sign({ sub: ownerId })}` }

  note('uploading a 20 KiB PNG and a 64 MiB file through the internal API (to s3rver), linking them')
  const data = { small: noisePng(SMALL_BYTES, 80, randomBytes), large: randomBytes(LARGE_BYTES) }
  const files = { small: join(workDir, 'small.png'), large: join(workDir, 'large.bin') }
  await Promise.all([writeFile(files.small, data.small), writeFile(files.large, data.large)])
  const writer = await service({ origin: 's3rver' })
  const stage = async (name: 'small' | 'large', fileName: string): Promise<BenchObject> => {
    const { attachment } = await uploadFile(writer.baseUrl, serviceAuth, { dialogId, ownerId, file: files[name], fileName })
    return {
      id: attachment.id,
      key: `${KEY_PREFIX}${dialogId}/${attachment.id}`,
      path: attachment.url,
      bytes: attachment.size,
      etag: attachment.etag,
      contentType: attachment.contentType
    }
  }
  const objects = { small: await stage('small', 'photo.png'), large: await stage('large', 'video.bin') }
  await linkAttachments(writer.baseUrl, serviceAuth, dialogId, 'bench-message-1', [objects.small.id, objects.large.id])

  const runs: BenchContext['runs'] = {}
  /** Cases measured in turns (measureTurns), each recorded under its label; figures(i) is the i-th case's. */
  const loadTurns = async (cases: Array<[string, Omit<LoadCase, 'durationS' | 'warmupS'>]>) => {
    note(`autocannon: ${cases.map(([label]) => label).join(', ')} in turns, ${cases[0]?.[1].connections} connections, ${knobs.warmupS} s warm-up each + ${knobs.slices} x ${knobs.durationS / knobs.slices} s each`)
    const times = { durationS: knobs.durationS, warmupS: knobs.warmupS }
    const measured = await measureTurns(cases.map(([, c]) => ({ ...c, ...serverCore(c), ...times })), knobs.slices)
    cases.forEach(([label], i) => { if (measured[i]) runs[label] = measured[i] })
    return (i: number): LoadFigures => {
      const figures = measured[i]
      if (!figures) throw new Error(`no figures for case ${i}`)
      return figures
    }
  }
  return {
    knobs,
    cores,
    note,
    objects,
    largeFile: files.large,
    dialogId,
    ownerId,
    serviceAuth,
    userAuth,
    service,
    secondService,
    hello,
    proxy,
    relay,
    nginx: { ...nginx, bucket: BUCKET },
    s3rver: { ...s3rver, bucket: BUCKET },
    watchService: (svc) => async () => {
      const backends = await database.backendPids()
      pinBackends(cores, backends)
      return { server: [svc.pid], postgres: backends, redis: [redis.serverPid], origin: [nginx.pid] }
    },
    load: async (label, c) => {
      note(`autocannon: ${label}, ${c.connections} connections, ${knobs.warmupS} s warm-up + ${knobs.durationS} s`)
      const figures = await measure({ ...c, ...serverCore(c), durationS: knobs.durationS, warmupS: knobs.warmupS })
      runs[label] = figures
      return figures
    },
    loadPair: async (a, b) => {
      const figures = await loadTurns([a, b])
      return [figures(0), figures(1)]
    },
    loadTriple: async (a, b, c) => {
      const figures = await loadTurns([a, b, c])
      return [figures(0), figures(1), figures(2)]
    },
    loadMany: async (cases) => {
      const figures = await loadTurns(cases)
      return cases.map((_, i) => figures(i))
    },
    runs,
    problems: [],
    workDir,
    cleanup,
    data,
    logFile,
    redisPrefix,
    countRedisKeys: redis.countKeys
  }
}
