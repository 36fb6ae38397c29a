// A Redis server of a test's own, so it can be stopped, frozen and restarted
// without disturbing the shared one. It dies with the test process.
import { spawn, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import { diesWithParent, freePort } from './process.js'
import { waitUntil } from './wait.js'

export interface TestRedis {
  url: string
  /** The server's process id while it runs. */
  readonly pid: number | undefined
  /** Kills it (SIGKILL): Redis is down. */
  stop (): Promise<void>
  start (): Promise<void>
  /** SIGSTOP / SIGCONT: Redis accepts connections but answers nothing. */
  freeze (): void
  thaw (): void
  close (): Promise<void>
}

export async function startRedis (): Promise<TestRedis> {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined

  async function start () {
    child = spawn(...diesWithParent('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']), { stdio: 'ignore' })
    const started = child
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    probe.on('error', () => {})
    await waitUntil(async () => {
      if (started.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${started.exitCode}`)
      try {
        await probe.connect()
        await probe.ping()
        return true
      } catch {
        probe.disconnect()
        return false
      }
    }, `redis-server on port ${port} answers`)
    probe.disconnect()
  }

  async function stop () {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    const gone = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGCONT')
    running.kill('SIGKILL')
    await gone
  }

  await start()
  return {
    url,
    get pid () { return child?.pid },
    stop,
    start,
    freeze: () => { child?.kill('SIGSTOP') },
    thaw: () => { child?.kill('SIGCONT') },
    close: stop
  }
}
