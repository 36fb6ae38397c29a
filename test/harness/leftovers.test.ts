// A test file that is killed (tap's timeout, SIGKILL) runs no teardown.
// Its child processes must die with it, and the databases, folders and
// Redis keys it made must go with the sweep every run starts with; while a
// test process runs, the sweep never touches what it holds.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import postgres from 'postgres'
import t from 'tap'
import { BASE_DATABASE_URL, createEmptyDatabase, REDIS_URL } from '../helper.js'
import { createTempDir, isRunning, OWNER, redisPrefix, sweepLeftovers } from '../support/leftovers.js'
import { diesWithParent } from '../support/process.js'
import { waitUntil } from '../support/wait.js'

// A child test process that starts four processes, and the sweep.
t.setTimeout(300_000)

const FIXTURE = fileURLToPath(new URL('abandoned-file.ts', import.meta.url))

interface Abandoned {
  database: string
  folders: string[]
  redisKey: string
  processes: Record<string, number>
}

const admin = postgres(BASE_DATABASE_URL, { max: 1, onnotice: () => {} })
t.teardown(() => admin.end({ timeout: 5 }))
const redis = new Redis(REDIS_URL)
t.teardown(() => redis.disconnect())

const databaseExists = async (name: string) => (await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`).length === 1
const exists = (path: string) => stat(path).then(() => true, () => false)

t.test('a test process killed with SIGKILL: its processes die with it, and the next run sweeps the rest', async (t) => {
  const child = spawn(...diesWithParent(process.execPath, ['--import', 'tsx', FIXTURE]), { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const exited = once(child, 'exit')
  const line = await Promise.race([
    once(createInterface({ input: child.stdout! }), 'line').then(([text]) => text as string),
    exited.then(([code]) => { throw new Error(`the fixture exited with ${code}`) })
  ])
  const made = JSON.parse(line) as Abandoned

  for (const [name, pid] of Object.entries(made.processes)) t.ok(isRunning(pid), `before: the ${name} process runs`)
  t.ok(await databaseExists(made.database), 'before: the database exists')
  for (const folder of made.folders) t.ok(await exists(folder), `before: ${folder} exists`)
  t.equal(await redis.exists(made.redisKey), 1, 'before: the Redis key exists')

  child.kill('SIGKILL')
  await exited
  await waitUntil(() => Object.values(made.processes).every((pid) => !isRunning(pid)), 'the killed process\'s children are gone')
  for (const [name, pid] of Object.entries(made.processes)) t.notOk(isRunning(pid), `the ${name} process died with it`)
  t.ok(await databaseExists(made.database), 'its database is left until the sweep')

  const swept = await sweepLeftovers()
  t.same(swept.errors, [], 'the sweep reached Postgres, Redis and the folders')
  t.ok(swept.databases.includes(made.database), 'the sweep dropped the database')
  t.notOk(await databaseExists(made.database), 'the database is gone')
  for (const folder of made.folders) {
    t.ok(swept.directories.includes(folder), `the sweep removed ${folder}`)
    t.notOk(await exists(folder), `${folder} is gone`)
  }
  t.equal(await redis.exists(made.redisKey), 0, 'the Redis key is gone')
})

t.test('the sweep keeps what a running test process holds, and what another machine made', async (t) => {
  const { url } = await createEmptyDatabase(t)
  const database = new URL(url).pathname.slice(1)
  const folder = await createTempDir(t, 'alive')
  const key = `${redisPrefix()}rate:alive`
  await redis.set(key, '1')
  t.teardown(() => redis.del(key))
  // Named like a leftover of a process that is gone, but of another host:
  // a process id says nothing about another machine's processes.
  const ended = spawn(process.execPath, ['-e', ''])
  await once(ended, 'exit')
  t.notOk(isRunning(ended.pid!), 'a process id that is gone')
  const host = OWNER.split('-')[0]
  const foreign = join(tmpdir(), `ca-test-${host === 'ffff' ? 'eeee' : 'ffff'}-${ended.pid}-foreign`)
  await mkdir(foreign)
  t.teardown(() => rm(foreign, { recursive: true, force: true }))

  const swept = await sweepLeftovers()
  t.notOk(swept.databases.includes(database), 'not our database')
  t.ok(await databaseExists(database), 'our database is still there')
  t.ok(await exists(folder), 'our folder is still there')
  t.equal(await redis.exists(key), 1, 'our Redis key is still there')
  t.ok(await exists(foreign), 'another machine\'s leftover is not ours to judge')
})
