// Export memory benchmark (npm run bench:export): the service as production
// runs it (`node dist/server.js`, built first) streams a customer export of
// BENCH_EXPORT_MIB (default 1024) MiB — BENCH_EXPORT_FILES objects in S3 —
// to a client reading at full speed, while its RSS is sampled every 100 ms.
// The figure is the peak RSS over the idle RSS measured just before; the
// goal is at most 150 MiB (the export is never buffered: one S3 object open
// at a time, piped with backpressure). Progress on stderr, the result as
// one JSON line on stdout. Needs Postgres (DATABASE_URL, default the local
// one) only; S3 is a local s3rver.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import postgres from 'postgres'
import { tokenSigner } from './lib/api.js'
import { planCores } from './lib/cores.js'
import { Cleanup, createDatabase, freePort, processStats, sleep } from './lib/infra.js'
import { sampledDownload } from './lib/sampled-download.js'
import { buildService, startLocalS3, startService } from './lib/servers.js'

const MiB = 1024 * 1024
const TOTAL_MIB = Number(process.env.BENCH_EXPORT_MIB ?? 1024)
const FILES = Number(process.env.BENCH_EXPORT_FILES ?? 16)
const GOAL_MIB = 150
const BUCKET = 'bench-export'
const log = (message: string) => process.stderr.write(`${message}\n`)

/** One file of random bytes (the same content under every key): its path and SHA-256. */
async function fixture (dir: string, bytes: number): Promise<{ file: string, sha256: string }> {
  const file = join(dir, 'object.bin')
  const out = createWriteStream(file)
  const hash = createHash('sha256')
  for (let left = bytes; left > 0; left -= MiB) {
    const chunk = randomBytes(Math.min(MiB, left))
    hash.update(chunk)
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject)
    out.end(() => resolve())
  })
  return { file, sha256: hash.digest('hex') }
}

const download = (url: string, headers: Record<string, string>, pid: number) =>
  sampledDownload(url, headers, async () => (await processStats(pid)).rss)

async function main (): Promise<void> {
  const cleanup = new Cleanup()
  const dir = await mkdtemp(join(tmpdir(), 'bench-export-'))
  cleanup.add('work folder', () => rm(dir, { recursive: true, force: true }))
  try {
    const cores = planCores()
    log('building the service (tsc)')
    await buildService()
    const database = await createDatabase(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', cleanup)
    const s3 = await startLocalS3(join(dir, 's3'), BUCKET, cores, cleanup)
    const objectBytes = Math.floor(TOTAL_MIB * MiB / FILES)
    log(`writing ${FILES} objects of ${(objectBytes / MiB).toFixed(1)} MiB to the local S3`)
    const { file, sha256 } = await fixture(dir, objectBytes)
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED' })
    const sql = postgres(database.url, { max: 1, onnotice: () => {} })
    cleanup.add('bench connections', async () => { client.destroy(); await sql.end({ timeout: 1 }) })
    const ownerId = 'bench-owner'
    for (let i = 0; i < FILES; i++) {
      const id = randomUUID()
      const dialogId = `bench-dialog-${i % 4}`
      const key = `attachments/${dialogId}/${id}`
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: createReadStream(file), ContentLength: (await stat(file)).size, ContentType: 'application/octet-stream' }))
      await sql`INSERT INTO chat_attachment (id, dialog_id, owner_id, uploaded_by, status, message_id, storage_key, file_name, content_type, size_bytes, sha256, etag, linked_at)
        VALUES (${id}, ${dialogId}, ${ownerId}, ${ownerId}, 'LINKED', ${`m-${i}`}, ${key}, ${`file-${i}.bin`}, 'application/octet-stream', ${objectBytes}, ${sha256}, ${`"${sha256.slice(0, 32)}"`}, now())`
    }

    const secret = randomBytes(32).toString('hex')
    const port = await freePort()
    const service = await startService({
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_URL: database.url,
      RATE_LIMIT_STORE: 'memory',
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: BUCKET,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      JWT_SECRET: secret
    }, join(dir, 'service.log'), cores, cleanup)
    const headers = { authorization: `Bearer ${tokenSigner(secret, 3600)({ sub: 'chat-app', scope: 'attachments:write' })}` }
    // Load the archive code once (an empty export), then let the process settle.
    await download(`${service.baseUrl}/internal/v1/owners/nobody/export`, headers, service.pid)
    await sleep(2_000)
    const idleRss = (await processStats(service.pid)).rss
    log(`idle RSS ${(idleRss / MiB).toFixed(1)} MiB; exporting ${TOTAL_MIB} MiB`)
    const result = await download(`${service.baseUrl}/internal/v1/owners/${ownerId}/export`, headers, service.pid)
    const growth = result.peakRss - idleRss
    const report = {
      exportMiB: +(result.bytes / MiB).toFixed(1),
      files: FILES,
      status: result.status,
      seconds: +result.seconds.toFixed(1),
      idleRssMiB: +(idleRss / MiB).toFixed(1),
      peakRssMiB: +(result.peakRss / MiB).toFixed(1),
      growthMiB: +(growth / MiB).toFixed(1),
      goal: `growth <= ${GOAL_MIB} MiB`,
      met: result.status === 200 && result.bytes >= FILES * objectBytes && growth <= GOAL_MIB * MiB
    }
    process.stdout.write(`${JSON.stringify(report)}\n`)
    if (!report.met) process.exitCode = 1
  } finally {
    const failures = await cleanup.run()
    for (const failure of failures) log(`cleanup: ${failure}`)
  }
}

await main()
