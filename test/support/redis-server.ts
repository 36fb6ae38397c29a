// A Redis server of a test's own, so it can be stopped, frozen and restarted
// without disturbing the shared one.
import { spawn, type ChildProcess } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { freePort } from './process.js'

export interface TestRedis {
  url: string
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
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    for (let i = 0; i < 100; i++) {
      try {
        await probe.connect()
        await probe.ping()
        break
      } catch {
        probe.disconnect()
        await sleep(50)
      }
    }
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
    stop,
    start,
    freeze: () => { child?.kill('SIGSTOP') },
    thaw: () => { child?.kill('SIGCONT') },
    close: stop
  }
}
