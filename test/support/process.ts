// Runs the project's entrypoints as their own processes, as a container
// would: with only PATH and the given environment.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface ProcessResult {
  code: number | null
  /** Set when the process had to be killed: it did not exit by itself. */
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Starts `src/<script>.ts` through tsx; `done` settles when it exits. */
export function startEntrypoint (script: string, args: string[], env: Record<string, string | undefined>, { timeoutMs = 60_000 } = {}): { child: ChildProcess, done: Promise<ProcessResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
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
