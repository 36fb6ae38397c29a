// What runs on this machine, read from /proc (Linux): the processes a
// command started, whether they are gone, and a process group that is
// killed even when the test process itself is killed (a timeout).
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

export interface ProcessInfo {
  pid: number
  ppid: number
  pgid: number
  /** Clock ticks since boot: with the pid, identifies the process across pid reuse. */
  startTime: string
  state: string
  command: string
}

function read (pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
    return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), startTime: fields[19]!, state: fields[0]!, command }
  } catch {
    return undefined
  }
}

/** Every process on the machine except zombies (exited, only not yet reaped). */
export function processes (): ProcessInfo[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map((name) => read(Number(name)))
    .filter((info): info is ProcessInfo => info !== undefined && info.state !== 'Z')
}

/** The processes below `pid`, at any depth. */
export function descendants (pid: number): ProcessInfo[] {
  const all = processes()
  const found: ProcessInfo[] = []
  let parents = new Set([pid])
  while (parents.size > 0) {
    const children = all.filter((info) => parents.has(info.ppid))
    found.push(...children)
    parents = new Set(children.map((info) => info.pid))
  }
  return found
}

/** Whether this very process (not a later one with its pid) still runs. */
export function isRunning (info: Pick<ProcessInfo, 'pid' | 'startTime'>): boolean {
  const now = read(info.pid)
  return now !== undefined && now.state !== 'Z' && now.startTime === info.startTime
}

/** Processes whose command line contains `text` (a unique folder, say), this one excepted. */
export function mentioning (text: string): ProcessInfo[] {
  return processes().filter((info) => info.pid !== process.pid && info.command.includes(text))
}

export function groupMembers (pgid: number): ProcessInfo[] {
  return processes().filter((info) => info.pgid === pgid)
}

/**
 * A helper that SIGKILLs process group `pgid` when this process goes away,
 * however it goes (its stdin pipe closes then), or when released.
 */
export function guardGroup (pgid: number): { release: () => void } {
  const script = 'process.stdin.resume().on("close", () => { try { process.kill(-Number(process.argv[1]), "SIGKILL") } catch {} process.exit(0) })'
  const guard: ChildProcess = spawn(process.execPath, ['-e', script, String(pgid)], { stdio: ['pipe', 'ignore', 'ignore'], detached: true })
  guard.unref()
  const stdin = guard.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null
  stdin?.unref?.()
  return { release: () => { stdin?.end() } }
}
