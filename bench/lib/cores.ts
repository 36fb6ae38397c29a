// Which process runs on which core. With two or more cores the server under
// test (the service, or the baseline standing in for it: the Fastify hello,
// the naive SDK proxy, the direct lib-storage upload) gets the first core the
// bench may use, alone; everything else the bench starts (itself with
// autocannon and the slow clients, nginx, s3rver) runs on the others. So a
// figure of the service and the baseline it is compared with come from the
// same core under the same load. The Postgres backends serving the bench's
// own database join the load cores before every measured run (pinBackends):
// the database is a dependency like the origin, and a backend that shared
// the service's core would take its time from the service alone (the read
// audit's INSERTs). Redis is a shared server of the machine and is left
// where the kernel puts it.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

export interface CorePlan {
  pinned: boolean
  /** Cores this process was allowed before pinning itself. */
  allowed: number
  /** taskset list of the server under test, e.g. "0". */
  serverCores: string
  /** taskset list of the load generator and the origins, e.g. "1". */
  loadCores: string
  /** How the plan was made, for the report. */
  description: string
}

/** Cores this process may run on (Cpus_allowed_list), e.g. "0-2,5" -> [0, 1, 2, 5]. */
function allowedCores (): number[] {
  const status = readFileSync('/proc/self/status', 'utf8')
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? ''
  return list.split(',').filter(Boolean).flatMap((part) => {
    const [from, to] = part.split('-').map(Number)
    if (from === undefined || !Number.isInteger(from)) return []
    return Array.from({ length: (to ?? from) - from + 1 }, (_v, i) => from + i)
  })
}

function hasTaskset (): boolean {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export function planCores (): CorePlan {
  const cores = allowedCores()
  const unpinned = (why: string): CorePlan => ({ pinned: false, allowed: cores.length, serverCores: '', loadCores: '', description: `not pinned: ${why}` })
  if (cores.length < 2) return unpinned(`only ${cores.length} core(s) allowed`)
  if (!hasTaskset()) return unpinned('taskset (util-linux) not found; install util-linux')
  const [server, ...load] = cores
  const plan = { pinned: true, allowed: cores.length, serverCores: String(server), loadCores: load.join(',') }
  return { ...plan, description: `server under test on core ${plan.serverCores}; load generator and origins on core(s) ${plan.loadCores} (taskset)` }
}

/** The command line that runs `command args` on the role's cores. */
export function onCores (plan: CorePlan, role: 'server' | 'load', command: string, args: string[]): [string, string[]] {
  if (!plan.pinned) return [command, args]
  return ['taskset', ['-c', role === 'server' ? plan.serverCores : plan.loadCores, command, ...args]]
}

/** Moves these processes (the bench database's backends) to the load cores; one that has exited is skipped. */
export function pinBackends (plan: CorePlan, pids: number[]): void {
  if (!plan.pinned) return
  for (const pid of pids) {
    try {
      execFileSync('taskset', ['-p', '-c', plan.loadCores, String(pid)], { stdio: 'ignore' })
    } catch {
      // Gone between the query and now (a pool closing an idle connection).
    }
  }
}

/** Moves every thread of this process (autocannon, slow clients) to the load cores; children inherit it. */
export function pinSelf (plan: CorePlan): void {
  if (plan.pinned) execFileSync('taskset', ['-a', '-p', '-c', plan.loadCores, String(process.pid)], { stdio: 'ignore' })
}
