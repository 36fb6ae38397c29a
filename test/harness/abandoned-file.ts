// Not a test: the child process of leftovers.test.ts. It sets up what a
// test file sets up (a migrated database, the S3-protocol server and its
// data folder, Redis keys under its prefix, a temp folder, a Redis server
// of its own, a running entrypoint), prints what it made as one JSON line,
// and waits to be killed. Its teardowns never run, as in a test file that
// tap kills on its timeout.
import { Redis } from 'ioredis'
import { createTempDir } from '../support/leftovers.js'
import { startEntrypoint } from '../support/process.js'
import { startRedis } from '../support/redis-server.js'
import { REDIS_URL, setup } from '../helper.js'

const never = { teardown: () => {} }
const ctx = await setup(never)
const folder = await createTempDir(never, 'abandoned')
const redisServer = await startRedis()

const redis = new Redis(REDIS_URL)
const redisKey = `${ctx.redisPrefix}rate:abandoned`
await redis.set(redisKey, '1')
redis.disconnect()

const server = startEntrypoint('src/server.ts', [], { ...ctx.env, HOST: '127.0.0.1', PORT: '0' }, { timeoutMs: 3_600_000 })
await new Promise<void>((resolve, reject) => {
  let output = ''
  server.child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk
    if (output.includes('Server listening')) resolve()
  })
  server.done.then((result) => reject(new Error(`the server exited: ${result.stderr}`)), reject)
})

process.stdout.write(`${JSON.stringify({
  database: new URL(ctx.databaseUrl).pathname.slice(1),
  folders: [ctx.s3.directory, folder],
  redisKey,
  processes: { s3: ctx.s3.pid, redis: redisServer.pid, server: server.child.pid }
})}\n`)
setInterval(() => {}, 60_000)
