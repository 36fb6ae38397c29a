// What a test file creates outside its own memory (databases, temp folders,
// Redis keys) carries the id of the process that created it, and of the
// machine: `ca_test_<host>_<pid>_<random>` for a database,
// `ca-test-<host>-<pid>-<what>-XXXXXX` for a folder, `ca-test:<host>-<pid>-<random>:`
// for Redis keys. A file that ends normally removes its own in t.teardown;
// one that tap kills on its timeout (SIGALRM), or that crashes, runs no
// teardown. So every run starts by sweeping what belongs to processes of
// this machine that are gone (.taprc `before: test/support/sweep.ts`).
// What a live process holds is never touched, whoever runs it.
//
// Child processes need no sweep: they are started so that they die with the
// test process (diesWithParent in process.ts).
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import postgres from 'postgres'

export const BASE_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** Folders where test files create theirs: the system's and the ignored .tap folder. */
export const TEMP_ROOTS = [tmpdir(), join(ROOT, '.tap')]

// Process ids only mean something on one machine (one pid namespace).
const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 4)
/** `<host>-<pid>`: the part of every name that says who owns it. */
export const OWNER = `${HOST}-${process.pid}`
const OWNED = /^ca[-_]test[-_:]([0-9a-f]{4})[-_](\d+)[-_]/

const random = (bytes: number) => randomBytes(bytes).toString('hex')

/** A database name owned by this process. */
export const databaseName = (): string => `ca_test_${OWNER.replace('-', '_')}_${random(4)}`

/**
 * A Redis key prefix owned by this process; at most 26 characters, so a
 * test can add a UUID and stay within REDIS_KEY_PREFIX's 64.
 */
export const redisPrefix = (): string => `ca-test:${OWNER}-${random(2)}:`

interface Teardown { teardown (fn: () => unknown): void }

/** A fresh folder owned by this process, removed when the test ends. */
export async function createTempDir (t: Teardown, what: string, root = tmpdir()): Promise<string> {
  const directory = await ownedTempDir(what, root)
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}

/** A fresh folder owned by this process; the caller removes it. */
export function ownedTempDir (what: string, root = tmpdir()): Promise<string> {
  return mkdtemp(join(root, `ca-test-${OWNER}-${what}-`))
}

/** Deletes the Redis keys under prefix (SCAN, never KEYS: the server is shared). */
export async function deleteRedisKeys (redis: Redis, prefix: string): Promise<number> {
  return unlinkMatching(redis, `${prefix}*`, () => true)
}

const PROC = existsSync('/proc/self/stat')

/** True while the process runs; a zombie (dead, not yet reaped) counts as gone. */
export function isRunning (pid: number): boolean {
  if (PROC) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      // "pid (command) state ...": the command may itself contain ") ".
      return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z'
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    }
  }
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Whether a name was made by a process of this machine that is gone. */
export function isAbandoned (name: string): boolean {
  const match = OWNED.exec(name)
  return match !== null && match[1] === HOST && !isRunning(Number(match[2]))
}

export interface Swept {
  databases: string[]
  directories: string[]
  redisKeys: number
  /** What could not be checked or removed, and why; the rest was swept regardless. */
  errors: string[]
}

/** Removes the databases, folders and Redis keys of test processes that are gone. */
export async function sweepLeftovers ({ databaseUrl = BASE_DATABASE_URL, redisUrl = REDIS_URL, roots = TEMP_ROOTS } = {}): Promise<Swept> {
  const swept: Swept = { databases: [], directories: [], redisKeys: 0, errors: [] }
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn()
    } catch (err) {
      swept.errors.push(`${what}: ${(err as Error).message}`)
    }
  }
  await Promise.all([
    attempt('postgres', async () => {
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
      try {
        const rows = await sql<Array<{ datname: string }>>`SELECT datname FROM pg_database WHERE starts_with(datname, 'ca_test_')`
        for (const { datname } of rows.filter((row) => isAbandoned(row.datname))) {
          // FORCE: a killed file's connections may not have been noticed yet.
          await attempt(datname, async () => { await sql.unsafe(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`) })
          swept.databases.push(datname)
        }
      } finally {
        await sql.end({ timeout: 5 })
      }
    }),
    attempt('redis', async () => {
      const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
      try {
        await redis.connect()
        swept.redisKeys += await unlinkMatching(redis, 'ca-test:*', (key) => isAbandoned(key))
      } finally {
        redis.disconnect()
      }
    }),
    ...roots.map((root) => attempt(root, async () => {
      const names = await readdir(root).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return []; throw err })
      for (const name of names.filter(isAbandoned)) {
        await rm(join(root, name), { recursive: true, force: true })
        swept.directories.push(join(root, name))
      }
    }))
  ])
  return swept
}

async function unlinkMatching (redis: Redis, match: string, keep: (key: string) => boolean): Promise<number> {
  let removed = 0
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000)
    cursor = next
    const chosen = keys.filter(keep)
    if (chosen.length > 0) removed += await redis.unlink(...chosen)
  } while (cursor !== '0')
  return removed
}
