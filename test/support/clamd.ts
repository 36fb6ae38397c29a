// A real clamd (Debian's clamav-daemon) of a test file's own, with a
// signature database written here instead of downloaded: one body signature
// (.ndb, target "any file") for the EICAR test string. A body signature
// matches the string anywhere in a file, including inside a larger file and
// inside the members clamd extracts from an archive; an .hdb hash signature
// would only match a file that is exactly the EICAR string.
//
// It listens on a free loopback TCP port and on a unix socket in its temp
// folder, and can be stopped and started again (down), frozen with SIGSTOP
// (accepts connections, answers nothing) and thawed. It runs under a small
// shell watchdog that kills it as soon as the test process's pipe closes, so
// a test that fails, times out or is killed never leaves a clamd behind.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ScanConfig } from '../../src/scan/scanner.js'
import { freePort } from './process.js'

const CLAMD = process.env.CLAMD_BINARY ?? '/usr/sbin/clamd'
const READY_TIMEOUT_MS = 90_000

// Kept out of the source as text, so that no scanner on a developer's
// machine quarantines this file.
export const EICAR = Buffer.from('WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo=', 'base64')
// clamd appends ".UNOFFICIAL" to the names of signatures that are not from
// its official databases.
export const EICAR_SIGNATURE = 'Test.EICAR.UNOFFICIAL'

// The watchdog: starts clamd, prints its pid, and kills it when stdin reaches
// EOF; exits with clamd's status. EOF without a "stop" line first means the
// test process is gone (killed, timed out): then it also removes the folder.
const WATCHDOG = `
exec 3<&0
"$0" -c "$1" >"$2/clamd.out" 2>&1 </dev/null & c=$!
echo "$c"
{
  last=
  while read -r line; do last=$line; done
  [ "$last" = stop ] || rm -rf "$2"
  kill -CONT "$c"; kill -KILL "$c"
} <&3 2>/dev/null & w=$!
exec 3<&-
wait "$c"; code=$?
kill "$w" 2>/dev/null
exit "$code"
`

export interface TestClamd {
  host: string
  port: number
  socketPath: string
  directory: string
  /** Milliseconds from spawn to the first PONG, for the last start(). */
  startupMs: number
  /** Scanner configuration pointing at this clamd over TCP. */
  scanConfig (overrides?: Partial<ScanConfig>): ScanConfig
  /** Kills it (SIGKILL): clamd is down. */
  stop (): Promise<void>
  /** Starts it again on the same port and socket (no-op while it runs). */
  start (): Promise<void>
  /** SIGSTOP / SIGCONT: clamd accepts connections but answers nothing. */
  freeze (): void
  thaw (): void
  /** Stops it for good and removes its folder. */
  close (): Promise<void>
}

export async function startClamd ({ streamMaxLength = '64M' } = {}): Promise<TestClamd> {
  const directory = await mkdtemp(join(tmpdir(), 'chat-attachments-clamd-'))
  const database = join(directory, 'db')
  const socketPath = join(directory, 'clamd.sock')
  const host = '127.0.0.1'
  const port = await freePort()
  await mkdir(database)
  await writeFile(join(database, 'test.ndb'), `Test.EICAR:0:*:${EICAR.toString('hex')}\n`)
  const configFile = join(directory, 'clamd.conf')
  await writeFile(configFile, [
    'Foreground yes',
    `LogFile ${join(directory, 'clamd.log')}`,
    'LogTime yes',
    `DatabaseDirectory ${database}`,
    `TCPSocket ${port}`,
    `TCPAddr ${host}`,
    `LocalSocket ${socketPath}`,
    `StreamMaxLength ${streamMaxLength}`,
    // No bytecode database here; without this clamd warns about it.
    'Bytecode no',
    // No "User": as root clamd keeps running as root, which is what a test
    // needs to read its own temp folder; as any other user it stays that user.
    ''
  ].join('\n'))

  let child: ChildProcess | undefined
  let pid = 0
  let startupMs = 0

  async function start (): Promise<void> {
    if (child && child.exitCode === null && child.signalCode === null) return
    // A socket file left by a killed clamd would make it refuse to start.
    await rm(socketPath, { force: true })
    const started = performance.now()
    const running = spawn('/bin/sh', ['-c', WATCHDOG, CLAMD, configFile, directory], {
      stdio: ['pipe', 'pipe', 'ignore']
    })
    child = running
    const exited = new Promise<never>((_resolve, reject) => {
      running.once('exit', (code) => {
        readLogs().then((logs) => reject(new Error(`clamd exited with ${code} before answering PING:\n${logs}`)), reject)
      })
    })
    exited.catch(() => {})
    const lines = createInterface({ input: running.stdout! })
    pid = Number(await Promise.race([new Promise<string>((resolve) => lines.once('line', resolve)), exited]))
    lines.close()
    const deadline = started + READY_TIMEOUT_MS
    while (!(await Promise.race([pong(host, port), exited]))) {
      if (performance.now() > deadline) {
        await stop()
        throw new Error(`clamd did not answer PING within ${READY_TIMEOUT_MS} ms:\n${await readLogs()}`)
      }
      await sleep(50)
    }
    startupMs = Math.round(performance.now() - started)
  }

  async function stop (): Promise<void> {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    const gone = new Promise((resolve) => running.once('exit', resolve))
    // "stop", then EOF: the watchdog sends SIGCONT and SIGKILL, then exits.
    running.stdin!.end('stop\n')
    await gone
  }

  async function readLogs (): Promise<string> {
    const read = (name: string) => readFile(join(directory, name), 'utf8').catch(() => '')
    return `${await read('clamd.out')}${await read('clamd.log')}`.split('\n').slice(-20).join('\n')
  }

  try {
    await start()
  } catch (err) {
    await rm(directory, { recursive: true, force: true })
    throw err
  }
  return {
    host,
    port,
    socketPath,
    directory,
    get startupMs () { return startupMs },
    scanConfig: (overrides = {}) => ({
      SCAN_MODE: 'clamd',
      CLAMD_HOST: host,
      CLAMD_PORT: port,
      SCAN_TIMEOUT_MS: 30_000,
      ...overrides
    }),
    stop,
    start,
    freeze: () => { if (child) process.kill(pid, 'SIGSTOP') },
    thaw: () => { if (child) process.kill(pid, 'SIGCONT') },
    async close () {
      await stop()
      await rm(directory, { recursive: true, force: true })
    }
  }
}

/** One PING over a fresh connection; false on any failure. */
function pong (host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.on('error', () => done(false))
    socket.on('close', () => done(false))
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1')
      if (reply.includes('\0')) done(reply.startsWith('PONG'))
    })
    socket.write('zPING\0')
  })
}
