// The local stand-ins for Postgres and S3 of `npm run dev` and of the CLIs'
// npm scripts, for whichever of DATABASE_URL and S3_ENDPOINT is unset:
// - Postgres: the embedded Postgres (scripts/dev/postgres.ts), data in
//   <DEV_DATA_DIR>/postgres;
// - S3: the local S3-protocol server (scripts/local-s3.mjs), objects in
//   <DEV_DATA_DIR>/s3.
// Each runs as a child process on a free loopback port and stops with its
// parent, even a killed one (it watches its stdin). A running `npm run dev`
// publishes its addresses in <DEV_DATA_DIR>/services.json; a second
// instance or a CLI started meanwhile uses those instead of starting its own
// (two servers cannot share one data folder).
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { EMBEDDED_POSTGRES, LOCAL_S3, type LocalSettings } from './settings.js'

const POSTGRES_SCRIPT = fileURLToPath(new URL('./postgres.ts', import.meta.url))
const S3_SCRIPT = fileURLToPath(new URL('../local-s3.mjs', import.meta.url))

/** A failure with a message meant for the user as it is: one line, a hint. */
export class StartupError extends Error {
  override name = 'StartupError'
}

export interface Needs { database: boolean, s3: boolean }

interface Published {
  pid: number
  DATABASE_URL?: string
  S3_ENDPOINT?: string
  S3_BUCKET?: string
}

interface Child { name: string, process: ChildProcess, stderr: string[] }

export class LocalServices {
  /** The settings, completed with the addresses of the services in use. */
  readonly env: Record<string, string>
  /** One line per service: what is used, and where its data is. */
  readonly notes: string[] = []
  /** Set when the embedded Postgres serves DATABASE_URL (ours or another instance's). */
  embeddedDatabase = false
  /** The pid of the `npm run dev` whose services are used, if not our own. */
  owner: number | undefined
  /** Called when a service this process started stops by itself. */
  onUnexpectedExit: (message: string) => void = () => {}

  readonly #dataDir: string
  readonly #children: Child[] = []
  #stopping = false
  #published = false

  constructor (settings: LocalSettings) {
    this.env = { ...settings.env }
    this.#dataDir = settings.dataDir
  }

  get #stateFile (): string {
    return join(this.#dataDir, 'services.json')
  }

  /** Starts (or borrows) what `needs` asks for and is not configured. */
  async start (needs: Needs, { publish = false } = {}): Promise<void> {
    const wantDatabase = needs.database && !this.env.DATABASE_URL
    const wantS3 = needs.s3 && !this.env.S3_ENDPOINT
    if (!wantDatabase && !wantS3) return
    await mkdir(this.#dataDir, { recursive: true })
    const running = await this.#runningInstance()

    const tasks: Array<Promise<void>> = []
    if (wantDatabase && running?.DATABASE_URL) {
      this.env.DATABASE_URL = running.DATABASE_URL
      this.embeddedDatabase = true
      this.owner = running.pid
      this.notes.push(`Postgres  embedded, run by the npm run dev with pid ${running.pid}`)
    } else if (wantDatabase) {
      tasks.push(this.#startPostgres())
    }
    if (wantS3 && running?.S3_ENDPOINT && running.S3_BUCKET) {
      Object.assign(this.env, LOCAL_S3, { S3_ENDPOINT: running.S3_ENDPOINT, S3_BUCKET: running.S3_BUCKET })
      this.owner = running.pid
      this.notes.push(`S3        local S3-protocol server ${running.S3_ENDPOINT}, run by the npm run dev with pid ${running.pid}`)
    } else if (wantS3) {
      tasks.push(this.#startS3())
    }
    // Both start at once; if one fails, stop() still finds the other.
    const results = await Promise.allSettled(tasks)
    this.notes.sort((a, b) => Number(a.startsWith('S3')) - Number(b.startsWith('S3')))
    const failed = results.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
    if (publish && this.#children.length > 0) await this.#publish()
  }

  async #startPostgres (): Promise<void> {
    const directory = join(this.#dataDir, 'postgres')
    const { port } = await this.#spawn('Postgres', process.execPath, ['--import', 'tsx', POSTGRES_SCRIPT, directory])
    const url = `postgres://${EMBEDDED_POSTGRES.user}:${EMBEDDED_POSTGRES.password}@127.0.0.1:${port}/${EMBEDDED_POSTGRES.database}`
    await ensureDatabase(url)
    this.env.DATABASE_URL = url
    this.embeddedDatabase = true
    this.notes.push(`Postgres  embedded, data in ${directory} (${url})`)
  }

  async #startS3 (): Promise<void> {
    const directory = join(this.#dataDir, 's3')
    await mkdir(directory, { recursive: true })
    const bucket = this.env.S3_BUCKET!
    // Paginated ListObjectsV2 needs the legacy provider on Node >= 17 (s3rver#818).
    const { port } = await this.#spawn('S3', process.execPath, ['--openssl-legacy-provider', S3_SCRIPT, directory, '0', bucket, '--exit-with-parent'])
    Object.assign(this.env, LOCAL_S3, { S3_ENDPOINT: `http://127.0.0.1:${port}` })
    this.notes.push(`S3        local S3-protocol server http://127.0.0.1:${port}, bucket ${bucket}, data in ${directory}`)
  }

  /** Spawns a service that prints one JSON line when ready, or one error line on stderr. */
  async #spawn (name: string, command: string, args: string[]): Promise<{ port: number }> {
    const child: Child = { name, process: spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] }), stderr: [] }
    this.#children.push(child)
    createInterface({ input: child.process.stderr! }).on('line', (line) => {
      child.stderr.push(line)
      child.stderr.splice(0, child.stderr.length - 20)
    })
    const lines = createInterface({ input: child.process.stdout! })
    const exited = once(child.process, 'exit')
    const ready = await Promise.race([once(lines, 'line'), exited.then(() => undefined)])
    if (!ready) {
      // The exit event can come before the last stderr line has been read.
      await once(child.process.stderr!, 'close').catch(() => {})
      throw new StartupError(child.stderr.at(-1) ?? `The local ${name} server exited at start (code ${child.process.exitCode})`)
    }
    exited.then(() => {
      if (!this.#stopping) this.onUnexpectedExit(child.stderr.at(-1) ?? `The local ${name} server stopped unexpectedly (code ${child.process.exitCode})`)
    }, () => {})
    return JSON.parse(String(ready[0])) as { port: number }
  }

  /** Another `npm run dev` whose services answer, if any. */
  async #runningInstance (): Promise<Published | undefined> {
    let state: Published
    try {
      state = JSON.parse(await readFile(this.#stateFile, 'utf8')) as Published
    } catch {
      return undefined
    }
    if (state.pid === process.pid || !isAlive(state.pid)) return undefined
    const addresses = [state.DATABASE_URL, state.S3_ENDPOINT].filter((url): url is string => url !== undefined)
    const answering = await Promise.all(addresses.map((url) => accepts(new URL(url))))
    return answering.every(Boolean) ? state : undefined
  }

  async #publish (): Promise<void> {
    const state: Published = { pid: process.pid }
    if (this.#children.some((child) => child.name === 'Postgres')) state.DATABASE_URL = this.env.DATABASE_URL
    if (this.#children.some((child) => child.name === 'S3')) Object.assign(state, { S3_ENDPOINT: this.env.S3_ENDPOINT, S3_BUCKET: this.env.S3_BUCKET })
    await writeFile(this.#stateFile, `${JSON.stringify(state)}\n`)
    this.#published = true
  }

  /** Stops every service this process started; idempotent. */
  async stop (): Promise<void> {
    this.#stopping = true
    if (this.#published) {
      this.#published = false
      await rm(this.#stateFile, { force: true })
    }
    await Promise.all(this.#children.map(({ process: child }) => stopChild(child)))
  }

  /** Kills what this process started at once (a second Ctrl-C). */
  kill (): void {
    this.#stopping = true
    for (const { process: child } of this.#children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists, but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function accepts (url: URL): Promise<boolean> {
  const socket = connect({ host: url.hostname, port: Number(url.port), timeout: 1_000 })
  try {
    await Promise.race([once(socket, 'connect'), once(socket, 'timeout').then(() => { throw new Error('timeout') })])
    return true
  } catch {
    return false
  } finally {
    socket.destroy()
  }
}

/** Creates the database of a postgres:// URL when it does not exist yet. */
export async function ensureDatabase (url: string): Promise<void> {
  const target = postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {} })
  try {
    await target`SELECT 1`
    return
  } catch (err) {
    // 3D000: the database does not exist; anything else is for the caller.
    if ((err as { code?: string }).code !== '3D000') throw err
  } finally {
    await target.end({ timeout: 5 })
  }
  const name = decodeURIComponent(new URL(url).pathname.slice(1))
  const maintenance = new URL(url)
  maintenance.pathname = '/postgres'
  const sql = postgres(maintenance.toString(), { max: 1, connect_timeout: 10, onnotice: () => {} })
  try {
    await sql.unsafe(`CREATE DATABASE "${name.replaceAll('"', '""')}"`)
  } finally {
    await sql.end({ timeout: 5 })
  }
}
