// The benchmark's throw-away world and what it reads from /proc: a database
// migrated by the service's own CLI, a Redis key prefix, child processes, and
// CPU time, RSS, descriptors and TCP queues of any process. Everything created
// is registered on one Cleanup, which undoes it in reverse order even when a
// step in between failed.
import { execFile, execFileSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import postgres from 'postgres'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

type Step = () => unknown

/** Undo steps, run last-in first-out; a failing step does not stop the others. */
export class Cleanup {
  private readonly steps: Array<{ name: string, step: Step }> = []

  add (name: string, step: Step): void {
    this.steps.push({ name, step })
  }

  /** Runs every step once; returns the failures, one line each. */
  async run (): Promise<string[]> {
    const failures: string[] = []
    for (let entry = this.steps.pop(); entry; entry = this.steps.pop()) {
      try {
        await entry.step()
      } catch (err) {
        failures.push(`${entry.name}: ${(err as Error).message}`)
      }
    }
    return failures
  }
}

export interface BenchDatabase {
  url: string
  /** Process ids of the server backends connected to this database (for CPU accounting). */
  backendPids: () => Promise<number[]>
}

/**
 * A fresh database, migrated by `node dist/cli/migrate.js` (build first) as a
 * release would migrate it; dropped on cleanup.
 */
export async function createDatabase (baseUrl: string, cleanup: Cleanup): Promise<BenchDatabase> {
  const name = `ca_bench_${randomBytes(6).toString('hex')}`
  const admin = postgres(baseUrl, { max: 1, connect_timeout: 5, onnotice: () => {} })
  cleanup.add('postgres admin connection', () => admin.end({ timeout: 1 }))
  await admin.unsafe(`CREATE DATABASE ${name}`)
  cleanup.add(`drop database ${name}`, () => admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  const url = new URL(baseUrl)
  url.pathname = `/${name}`
  try {
    await promisify(execFile)(process.execPath, ['dist/cli/migrate.js'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', DATABASE_URL: url.toString() } })
  } catch (err) {
    throw new Error(`node dist/cli/migrate.js failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`)
  }
  return {
    url: url.toString(),
    backendPids: async () => (await admin<Array<{ pid: number }>>`SELECT pid FROM pg_stat_activity WHERE datname = ${name}`).map((row) => row.pid)
  }
}

/** Checks Redis is there and deletes every key under the prefix on cleanup. */
export async function prepareRedis (url: string, prefix: string, cleanup: Cleanup): Promise<{ countKeys: () => Promise<number>, serverPid: number }> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 1 })
  await redis.connect()
  cleanup.add('redis connection', () => redis.quit())
  await redis.ping()
  const keys = async () => {
    const found: string[] = []
    for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 500 })) found.push(...(batch as string[]))
    return found
  }
  cleanup.add(`redis keys ${prefix}*`, async () => {
    const found = await keys()
    if (found.length > 0) await redis.del(...found)
  })
  const serverPid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1] ?? NaN)
  return { countKeys: async () => (await keys()).length, serverPid }
}

export interface Child {
  pid: number
  process: ChildProcess
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function stopChild (child: ChildProcess, graceMs = 12_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** A port nobody listens on right now (the service cannot report PORT=0's choice). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (!address || typeof address === 'string') throw new Error('no port')
  return address.port
}

export interface ProcessStats {
  /** Resident set size, bytes. */
  rss: number
  /** Peak RSS since start or since resetPeakRss, bytes. */
  hwm: number
  openFds: number
}

export async function processStats (pid: number): Promise<ProcessStats> {
  const [status, fds] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readdir(`/proc/${pid}/fd`)])
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024
  return { rss: kib('VmRSS'), hwm: kib('VmHWM'), openFds: fds.length }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU time (user + system) a process has used so far, in seconds. */
export async function cpuSeconds (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // After "pid (comm)": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

/** Bytes a process has read with read() and friends so far (files and sockets; /proc/<pid>/io rchar). */
export async function bytesRead (pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8')
  return Number(/^rchar:\s+(\d+)/m.exec(io)?.[1] ?? NaN)
}

/** CPU time the whole machine (or one core, `cpu<N>` in /proc/stat) has spent busy, in seconds. */
export async function machineBusySeconds (core?: number): Promise<number> {
  const stat = await readFile('/proc/stat', 'utf8')
  const name = core === undefined ? 'cpu' : `cpu${core}`
  const line = stat.split('\n').find((l) => l.startsWith(`${name} `)) ?? ''
  // cpu user nice system idle iowait irq softirq steal ...
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLOCK_TICKS
}

export interface TcpConnection {
  localPort: number
  remotePort: number
  /** Bytes in the kernel's send queue (not yet acknowledged by the peer). */
  txQueue: number
  /** Bytes in the kernel's receive queue (not yet read by the process). */
  rxQueue: number
}

/** The established TCP connections a process holds (its socket fds matched against /proc/net/tcp). */
export async function tcpConnections (pid: number): Promise<TcpConnection[]> {
  const fds = await readdir(`/proc/${pid}/fd`)
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')))
  const inodes = new Set(links.flatMap((link) => /^socket:\[(\d+)\]$/.exec(link)?.[1] ?? []))
  const tables = await Promise.all(['tcp', 'tcp6'].map((name) => readFile(`/proc/${pid}/net/${name}`, 'utf8').catch(() => '')))
  const connections: TcpConnection[] = []
  for (const line of tables.join('\n').split('\n')) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    const fields = line.trim().split(/\s+/)
    const [local, remote, state, queues, inode] = [fields[1], fields[2], fields[3], fields[4], fields[9]]
    if (state !== '01' || inode === undefined || !inodes.has(inode)) continue
    const port = (address: string | undefined) => parseInt(address?.split(':').at(-1) ?? '', 16)
    const [tx, rx] = (queues ?? '0:0').split(':').map((hex) => parseInt(hex, 16))
    connections.push({ localPort: port(local), remotePort: port(remote), txQueue: tx ?? 0, rxQueue: rx ?? 0 })
  }
  return connections
}

/** Resets VmHWM (Linux clear_refs "5"); false when not permitted. */
export async function resetPeakRss (pid: number): Promise<boolean> {
  return writeFile(`/proc/${pid}/clear_refs`, '5').then(() => true, () => false)
}

/** The soft limit of open files of a process. */
export async function openFileLimit (pid: number): Promise<number> {
  const limits = await readFile(`/proc/${pid}/limits`, 'utf8')
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1]
  return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft)
}

export interface LogSummary {
  warn: number
  error: number
  /** Distinct messages at warn or above, with a count and the first line. */
  messages: Array<{ level: number, msg: string, count: number, example: string }>
  /** Output that is not pino JSON (process warnings on stderr), joined. */
  other: string
}

/** Lines of the service's pino log at warn (40) or above. */
export async function summariseLog (file: string): Promise<LogSummary> {
  const text = await readFile(file, 'utf8').catch(() => '')
  const byMessage = new Map<string, { level: number, msg: string, count: number, example: string }>()
  const other: string[] = []
  let warn = 0
  let error = 0
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    let entry: { level?: number, msg?: string }
    try {
      entry = JSON.parse(line) as { level?: number, msg?: string }
    } catch {
      other.push(line.trim())
      continue
    }
    const level = entry.level ?? 30
    if (level < 40) continue
    if (level >= 50) error++
    else warn++
    const msg = entry.msg ?? '(no msg)'
    const seen = byMessage.get(msg)
    if (seen) seen.count++
    else byMessage.set(msg, { level, msg, count: 1, example: line.slice(0, 400) })
  }
  return { warn, error, messages: [...byMessage.values()], other: other.join(' ') }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
