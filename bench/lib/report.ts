// The printed summary: the goals table of issue 10 (every figure next to its
// baseline from the same run, the ratio, the goal and whether it is met),
// each row's notes, every autocannon run with the CPU of each process, the
// problems seen, then everything again as a single JSON line.
import type { GoalCheck, Knobs, RowResult } from '../rows/row.js'
import { dec, int, table } from './format.js'
import type { LogSummary } from './infra.js'
import { microsPerRequest, type LoadFigures } from './load.js'
import type { Conditional } from './verify.js'

export interface Report {
  startedAt: string
  node: string
  cpus: number
  cores: string
  /** How dist/ was built for this run. */
  build: string
  settings: Knobs
  rows: RowResult[]
  runs: Record<string, LoadFigures>
  conditional?: Conditional
  redisRateLimitKeys?: number
  serviceLog?: { warn: number, error: number }
  problems: string[]
  totalSeconds: number
}

const goalText = (c: GoalCheck) => c.goal ? `${c.goal.op === '>=' ? '>=' : '<='} ${c.goal.bound}${c.goal.unit === 'x' ? 'x' : ` ${c.goal.unit}`}` : ''
const metText = (c: GoalCheck) => c.met === undefined ? '' : c.met ? 'yes' : 'NO'

export function formatReport (report: Report): string {
  const s = report.settings
  const checks = report.rows.flatMap((row) => row.checks)
  const judged = checks.filter((c) => c.met !== undefined)
  const lines = [
    '',
    `chat-attachments hot-path benchmark, ${report.startedAt}, Node ${report.node}, ${report.cpus} CPUs`,
    `service: node dist/server.js, ${report.build}; ${report.cores}`,
    ...(s.nodeArgs.length > 0 ? [`service node arguments (BENCH_NODE_ARGS, the baselines run without them): ${s.nodeArgs.join(' ')}`] : []),
    `autocannon: ${s.durationS} s per run after a ${s.warmupS} s warm-up, ${s.connections} connections (${s.largeConnections} for 64 MiB); ` +
      'CPU = utime + stime from /proc/<pid>/stat around each measured run; MB = 10^6 bytes',
    '',
    'Goals (issue 10), every baseline measured in this run:'
  ]
  const rows = [['path', 'figure', 'the service', 'baseline in the same run', 'ratio', 'goal', 'met']]
  for (const row of report.rows) {
    row.checks.forEach((c, i) => rows.push([i === 0 ? row.path : '', c.figure, c.service, c.baseline, c.ratio === undefined ? '' : `${dec(c.ratio, 2)}x`, goalText(c), metText(c)]))
  }
  lines.push(...table(rows, [0, 1, 2, 3, 5, 6]).map((line) => `  ${line}`))
  lines.push(`  Goals met: ${judged.filter((c) => c.met).length} of ${judged.length}`, '')
  for (const row of report.rows) {
    if (row.notes.length === 0) continue
    lines.push(`${row.path}:`, ...row.notes.map((note) => note.startsWith('  ') ? note : `  ${note}`))
  }

  lines.push('', 'Runs: MB/s of completed bodies, and of all bytes received; µs = CPU per response of the process under test (server), its',
    'Postgres backends, Redis (shared) and nginx (origin); server, gen (autocannon), other (the rest of the machine), other on server core',
    '(what else ran on the core of the process under test) = share of one core')
  const runRows = [['run', 'conns', 'req/s', 'MB/s', 'MB/s recv', 'p50 ms', 'p99 ms', 'responses', 'unexpected', 'µs server', 'µs pg', 'µs redis', 'µs origin', 'server', 'gen', 'other', 'other on server core']]
  const us = (f: LoadFigures, group: string) => f.cpuSeconds[group] === undefined ? '-' : int(microsPerRequest(f, group))
  const cores = (value: number | undefined) => value === undefined ? '-' : `${int(value * 100)}%`
  for (const [label, f] of Object.entries(report.runs)) {
    runRows.push([
      label, String(f.connections), dec(f.reqPerSec), f.mbPerSec === 0 ? '-' : dec(f.mbPerSec), dec(f.receivedMBPerSec),
      int(f.latencyP50Ms), int(f.latencyP99Ms), `${f.expectStatus} x ${int(f.expected)}`, int(f.unexpected),
      us(f, 'server'), us(f, 'postgres'), us(f, 'redis'), us(f, 'origin'),
      cores(f.cpu.server), cores(f.cpu.generator), cores(f.cpu.other), f.cpu.server === undefined ? '-' : cores(f.cpu.otherOnServerCore)
    ])
  }
  lines.push(...table(runRows, [0, 7]).map((line) => `  ${line}`))
  if (report.conditional) {
    const c = report.conditional
    lines.push(`  conditional GET: service ${c.service} (${c.serviceWithNoCache} with Cache-Control: no-cache), nginx ${c.origin} to its own ETag`)
  }
  lines.push(
    `  rate-limit keys in Redis: ${report.redisRateLimitKeys ?? '-'}; service log lines at warn: ${report.serviceLog?.warn ?? '-'}, at error or above: ${report.serviceLog?.error ?? '-'}`,
    `  total run time: ${dec(report.totalSeconds)} s`,
    '',
    report.problems.length === 0 ? 'Problems: none' : 'Problems:',
    ...report.problems.map((problem) => `  - ${problem}`),
    ''
  )
  return lines.join('\n')
}

/** Everything on one line, numbers rounded, for notes. */
export function reportJson (report: Report): string {
  return JSON.stringify(report, (_key, value: unknown) => typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 100) / 100 : value)
}

/** What deserves a look: wrong answers, a saturated load generator, a busy machine, log lines at warn and above. */
export function findProblems (runs: Record<string, LoadFigures>, log: LogSummary): string[] {
  const problems: string[] = []
  const share = ([label, value]: [string, number]) => `${int(value * 100)}% (${label})`
  const starved: string[] = []
  for (const [label, f] of Object.entries(runs)) {
    if (f.unexpected > 0) {
      problems.push(`${label}: ${f.unexpected} of ${f.requests + f.errors} answers were not ${f.expectStatus} ` +
        `(statuses ${JSON.stringify(f.statusCounts)}, ${f.errors} connection errors, ${f.timeouts} timeouts)`)
    }
    // autocannon is one thread: near a full core it, not the server, may set the pace.
    const generator = f.cpu.generator ?? 0
    if (generator > 0.9) {
      problems.push(`${label}: autocannon used ${int(generator * 100)}% of a core; the load generator may limit this run, so its rate is a lower bound`)
    } else if (f.cpu.server !== undefined && f.cpu.server < 0.8) {
      const others = f.cpu.otherOnServerCore === undefined ? '' : `, other processes ${int(f.cpu.otherOnServerCore * 100)}%`
      starved.push(`${int(f.cpu.server * 100)}% (${label}${others})`)
    }
  }
  if (starved.length > 0) {
    problems.push(`the process under test used only ${starved.join(', ')} of its core: it waited, on its origin or dependencies ` +
      'or for the core itself, so req/s is below what the core gives; CPU per request holds better')
  }
  const disturbed = Object.entries(runs).flatMap(([label, f]): Array<[string, number]> => (f.cpu.other ?? 0) > 0.25 ? [[label, f.cpu.other ?? 0]] : [])
  if (disturbed.length > 0) {
    problems.push(`other processes on the machine used ${disturbed.map(share).join(', ')} of a core: absolute figures are disturbed ` +
      '(the ratios less so, as each baseline ran right after its service run); repeat the run to compare')
  }
  for (const m of log.messages) problems.push(`service log, level ${m.level}, ${m.count} x "${m.msg}"; first: ${m.example}`)
  if (log.other !== '') problems.push(`note: the service printed (not pino): ${log.other.slice(0, 400)}`)
  return problems
}
