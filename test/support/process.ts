// Runs the project's entrypoints as their own processes, as a container
// would: with only PATH and the given environment, from compiled code.
//
// Every process a test starts dies with the test process, even when tap
// kills that on its timeout (no teardown runs then): it is started through
// setpriv(1) with a parent-death signal (prctl PR_SET_PDEATHSIG), so the
// kernel kills it when its parent goes, however that goes.
//
// And it runs without tap's instrumentation: tap adds its process-info
// loader and V8 coverage to every child (NODE_OPTIONS), which made each
// entrypoint run cost 2.7 s of CPU instead of 0.9 s. The entrypoints are
// thin shells over jobs that in-process tests cover.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { compiledEntrypoint } from './compiled-source.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface ProcessResult {
  code: number | null
  /** Set when the process had to be killed: it did not exit by itself. */
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

// util-linux, on every Debian system. Where it is missing, children are
// started plainly and a killed test file can leave one running.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path))

/**
 * The command and arguments that run `command args` as a child that dies
 * with this process, without the NODE_OPTIONS tap adds to every child.
 */
export function diesWithParent (command: string, args: string[]): [string, string[]] {
  const plain = ['/usr/bin/env', '-u', 'NODE_OPTIONS', command, ...args]
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', ...plain]] : [plain[0]!, plain.slice(1)]
}

/** Starts `src/<script>.ts` (compiled); `done` settles when it exits. */
export function startEntrypoint (script: string, args: string[], env: Record<string, string | undefined>, { timeoutMs = 120_000 } = {}): { child: ChildProcess, done: Promise<ProcessResult> } {
  const child = spawn(...diesWithParent(process.execPath, [compiledEntrypoint(script), ...args]), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // One left running by an open handle is killed, and shows up as a signal.
    timeout: timeoutMs,
    killSignal: 'SIGKILL'
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk })
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk })
  const done = new Promise<ProcessResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  return { child, done }
}

export function runEntrypoint (script: string, args: string[], env: Record<string, string | undefined>, options?: { timeoutMs?: number }): Promise<ProcessResult> {
  return startEntrypoint(script, args, env, options).done
}

/** A loopback port nothing listens on (for "the dependency is down"). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
