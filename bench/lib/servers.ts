// The processes a run starts besides nginx: the service as production runs
// it (`node dist/server.js`, built from this checkout first), the baselines
// of bench/servers/, and the local S3 server that takes the uploads. Each is
// placed on its cores (cores.ts) and registered on the Cleanup.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { onCores, type CorePlan } from './cores.js'
import { imageEnv } from './image-env.js'
import { processStats, ROOT, sleep, stopChild, type Child, type Cleanup } from './infra.js'

const run = promisify(execFile)

export interface Build {
  seconds: number
  /** `git describe`-like: the commit, and whether src/ has changes not committed. */
  revision: string
}

/** `tsc -p tsconfig.build.json` (what `npm run build` runs): the service is measured as dist/. */
export async function buildService (): Promise<Build> {
  const started = performance.now()
  try {
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT })
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string, stderr?: string }
    throw new Error(`npm run build failed:\n${stdout}${stderr}`)
  }
  const git = async (...args: string[]) => (await run('git', args, { cwd: ROOT }).catch(() => ({ stdout: '' }))).stdout.trim()
  const commit = await git('rev-parse', '--short', 'HEAD')
  const dirty = await git('status', '--porcelain', '--', 'src', 'package.json', 'package-lock.json')
  return { seconds: (performance.now() - started) / 1000, revision: `${commit || 'unknown'}${dirty ? ' with uncommitted changes' : ''}` }
}

/** Spawns a process that prints one JSON line {"port":N} once it listens. */
async function spawnListening (label: string, [command, args]: [string, string[]], env: NodeJS.ProcessEnv, cleanup: Cleanup): Promise<Child & { port: number }> {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] })
  cleanup.add(label, () => stopChild(child))
  const line = await firstLine(child, label)
  child.stdout!.resume()
  const { port } = JSON.parse(line) as { port: number }
  return { pid: child.pid!, process: child, port }
}

export async function firstLine (child: ChildProcess, label: string): Promise<string> {
  const lines = createInterface({ input: child.stdout! })
  try {
    return await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve)
      child.once('exit', (code) => reject(new Error(`${label} exited with ${code} before it was ready`)))
    })
  } finally {
    lines.close()
  }
}

/** scripts/local-s3.mjs (s3rver) on a port of its choosing, on the load cores. */
export async function startLocalS3 (directory: string, bucket: string, plan: CorePlan, cleanup: Cleanup): Promise<Child & { endpoint: string }> {
  // Paginated ListObjectsV2 needs the legacy provider on Node >= 17 (s3rver#818).
  const command = onCores(plan, 'load', process.execPath, ['--openssl-legacy-provider', 'scripts/local-s3.mjs', directory, '0', bucket])
  const child = await spawnListening('local S3 server', command, process.env, cleanup)
  return { ...child, endpoint: `http://127.0.0.1:${child.port}` }
}

export async function startHello (plan: CorePlan, cleanup: Cleanup): Promise<Child & { baseUrl: string }> {
  const child = await spawnListening('Fastify hello', onCores(plan, 'server', process.execPath, ['bench/servers/hello.mjs']), process.env, cleanup)
  return { ...child, baseUrl: `http://127.0.0.1:${child.port}` }
}

export interface S3Settings {
  S3_ENDPOINT: string
  S3_BUCKET: string
  S3_REGION: string
  S3_ACCESS_KEY_ID: string
  S3_SECRET_ACCESS_KEY: string
}

export async function startNaiveProxy (s3: S3Settings, plan: CorePlan, cleanup: Cleanup): Promise<Child & { baseUrl: string }> {
  const command = onCores(plan, 'server', process.execPath, ['bench/servers/naive-proxy.mjs'])
  const child = await spawnListening('naive SDK proxy', command, { PATH: process.env.PATH ?? '', ...s3 }, cleanup)
  return { ...child, baseUrl: `http://127.0.0.1:${child.port}` }
}

/** bench/servers/bare-relay.mjs on the server core, with the image's process settings: plain node:http relaying `originPrefix`/<key>. */
export async function startBareRelay (originPrefix: string, plan: CorePlan, cleanup: Cleanup): Promise<Child & { baseUrl: string }> {
  const command = onCores(plan, 'server', process.execPath, ['bench/servers/bare-relay.mjs'])
  const child = await spawnListening('bare node:http relay', command, { PATH: process.env.PATH ?? '', ...imageEnv(), ORIGIN_PREFIX: originPrefix }, cleanup)
  return { ...child, baseUrl: `http://127.0.0.1:${child.port}` }
}

export interface RunningService extends Child {
  baseUrl: string
  /** RSS when /health/ready first answered 200, bytes. */
  readyRss: number
}

/**
 * `node dist/server.js` on the server core with exactly the given
 * environment (and `nodeArgs`, e.g. --cpu-prof), its JSON log appended to `logFile`; resolves once
 * /health/ready answers 200.
 */
export async function startService (env: Record<string, string>, logFile: string, plan: CorePlan, cleanup: Cleanup, nodeArgs: string[] = []): Promise<RunningService> {
  const log = openSync(logFile, 'a')
  const [command, args] = onCores(plan, 'server', process.execPath, [...nodeArgs, 'dist/server.js'])
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', log, log] })
  closeSync(log)
  cleanup.add('service', () => stopChild(child))
  const baseUrl = `http://127.0.0.1:${env.PORT}`
  const deadline = Date.now() + 30_000
  let last = 'no answer'
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}: ${await tail(logFile)}`)
    const res = await fetch(`${baseUrl}/health/ready`).catch(() => undefined)
    if (res?.status === 200) {
      await res.arrayBuffer()
      return { pid: child.pid!, process: child, baseUrl, readyRss: (await processStats(child.pid!)).rss }
    }
    if (res) last = `${res.status} ${await res.text()}`
    await sleep(100)
  }
  throw new Error(`the service was not ready within 30 s; /health/ready answered ${last}; log: ${await tail(logFile)}`)
}

async function tail (file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '')
  return text.trim().split('\n').slice(-10).join('\n')
}

export interface DirectUploader extends Child {
  /** Uploads `file` to `key` with lib-storage; the milliseconds of the upload alone. */
  upload: (key: string, file: string) => Promise<number>
  delete: (key: string) => Promise<void>
}

/** bench/servers/direct-upload.mjs on the server core, driven over stdin/stdout. */
export async function startDirectUploader (s3: S3Settings, plan: CorePlan, cleanup: Cleanup): Promise<DirectUploader> {
  const [command, args] = onCores(plan, 'server', process.execPath, ['bench/servers/direct-upload.mjs'])
  const child = spawn(command, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...s3 }, stdio: ['pipe', 'pipe', 'inherit'] })
  cleanup.add('direct lib-storage uploader', () => stopChild(child))
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const answer = async (command: Record<string, string>) => {
    child.stdin!.write(`${JSON.stringify(command)}\n`)
    const { value, done } = await lines.next()
    if (done) throw new Error('the direct uploader exited')
    const reply = JSON.parse(value) as { ms?: number, error?: string }
    if (reply.error) throw new Error(`direct upload: ${reply.error}`)
    return reply
  }
  const { value: ready } = await lines.next()
  if (ready === undefined) throw new Error('the direct uploader exited before it was ready')
  return {
    pid: child.pid!,
    process: child,
    upload: async (key, file) => (await answer({ op: 'upload', key, file })).ms ?? NaN,
    delete: async (key) => { await answer({ op: 'delete', key }) }
  }
}
