// The S3-protocol server of one test file (scripts/local-s3.mjs) in a
// child process that dies with the test process, over a data folder named
// like every test leftover (swept by the next run if the file is killed).
import { spawn, type ChildProcess } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { ownedTempDir } from './leftovers.js'
import { diesWithParent } from './process.js'

const SCRIPT = fileURLToPath(new URL('../../scripts/local-s3.mjs', import.meta.url))

export interface TestS3 {
  endpoint: string
  port: number
  bucket: string
  directory: string
  /** The server's process id while it runs. */
  readonly pid: number | undefined
  /** Kills the server (SIGKILL): S3 is down. */
  stop (): Promise<void>
  /** Starts it again on the same port, with the same objects. */
  start (): Promise<void>
  /** Stops it for good and removes its data. */
  close (): Promise<void>
}

export async function startS3 (bucket = 'attachments'): Promise<TestS3> {
  const directory = await ownedTempDir('s3')
  let child: ChildProcess | undefined
  let port = 0

  async function start (): Promise<void> {
    // Paginated ListObjectsV2 needs the legacy provider on Node >= 17 (s3rver#818).
    // --exit-with-parent: it stops when this process dies, even when a
    // timeout kills the test before its teardown runs.
    child = spawn(...diesWithParent(process.execPath, ['--openssl-legacy-provider', SCRIPT, directory, String(port), bucket, '--exit-with-parent']), {
      stdio: ['pipe', 'pipe', 'inherit']
    })
    const exited = new Promise<never>((_resolve, reject) => child!.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`))))
    const lines = createInterface({ input: child.stdout! })
    const first = new Promise<string>((resolve) => lines.once('line', resolve))
    const line = await Promise.race([first, exited])
    lines.close()
    port = (JSON.parse(line) as { port: number }).port
  }

  async function stop (): Promise<void> {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    const gone = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await gone
  }

  await start()
  return {
    get endpoint () { return `http://127.0.0.1:${port}` },
    get port () { return port },
    get pid () { return child?.pid },
    bucket,
    directory,
    stop,
    start,
    async close () {
      await stop()
      await rm(directory, { recursive: true, force: true })
    }
  }
}
