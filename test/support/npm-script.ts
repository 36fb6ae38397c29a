// Runs an npm script of this project as a user's terminal would, in its own
// process group, with a bare environment. Whatever it starts is killed when
// the test ends, even by a timeout.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readdirSync, realpathSync } from 'node:fs'
import { mkdir, symlink } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { descendants, guardGroup, isRunning, type ProcessInfo } from './process-tree.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

interface Teardown { teardown (fn: () => unknown): void }

/** npm's own entry script: run with this Node, it needs no `node` on PATH to start. */
function npmCli (): string {
  const candidates = [process.env.npm_execpath, ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'npm'))]
  for (const candidate of candidates) {
    if (!candidate || !existsSync(candidate)) continue
    const real = realpathSync(candidate)
    if (real.endsWith('npm-cli.js')) return real
  }
  throw new Error('npm-cli.js not found')
}

/**
 * PATH without the given commands: each directory that holds one is replaced
 * by a folder of links to its other entries, so a shell, node and the usual
 * tools stay, and Postgres and Redis binaries are not there.
 */
export async function pathWithout (names: string[], folder: string): Promise<string> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean)
  const result: string[] = []
  for (const [index, dir] of dirs.entries()) {
    let entries: string[]
    try {
      entries = readdirSync(dir)
    } catch {
      continue
    }
    if (!entries.some((entry) => names.includes(entry))) {
      result.push(dir)
      continue
    }
    const copy = join(folder, `path-${index}`)
    await mkdir(copy, { recursive: true })
    await Promise.all(entries.filter((entry) => !names.includes(entry)).map((entry) => symlink(join(dir, entry), join(copy, entry))))
    result.push(copy)
  }
  return result.join(delimiter)
}

export interface NpmRun {
  child: ChildProcess
  /** Everything written so far. */
  stdout: () => string
  stderr: () => string
  /** Resolves with the first match of `pattern` in stdout; rejects when the process ends first or after timeoutMs. */
  waitFor: (pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray>
  /** Settles when the npm process has exited. */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** The processes below npm right now. */
  tree: () => ProcessInfo[]
  /** Every process ever seen below npm (by tree() and waitFor()), gone or not. */
  seen: () => ProcessInfo[]
}

/** `npm run <script> -- <args>` in the project, with exactly `env`. */
export function npmRun (t: Teardown, script: string, args: string[], env: Record<string, string | undefined>): NpmRun {
  const child = spawn(process.execPath, [npmCli(), 'run', script, ...(args.length > 0 ? ['--', ...args] : [])], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true
  })
  const guard = guardGroup(child.pid!)
  const seen = new Map<string, ProcessInfo>()
  const tree = () => {
    const now = descendants(child.pid!)
    for (const info of now) seen.set(`${info.pid}:${info.startTime}`, info)
    return now
  }
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk })
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk })
  const exited = once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }))
  // Whatever happens to the test: the group, and any process it ever saw below npm.
  t.teardown(async () => {
    tree()
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
    }
    for (const info of seen.values()) {
      if (isRunning(info)) {
        try {
          process.kill(info.pid, 'SIGKILL')
        } catch {}
      }
    }
    guard.release()
  })

  async function waitFor (pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      tree()
      const match = stdout.match(pattern)
      if (match) return match
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`npm run ${script} ended (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${stdout}\n${stderr}`)
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${stdout}\n${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  return { child, stdout: () => stdout, stderr: () => stderr, waitFor, exited, tree, seen: () => [...seen.values()] }
}
