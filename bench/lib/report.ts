// The printed summary: one aligned table for throughput, one block for
// memory, the problems seen, then everything again as a single JSON line.
import type { LogSummary } from './infra.js'
import type { LoadFigures } from './load.js'

export interface CaseReport {
  name: string
  bodyBytes: number
  service: LoadFigures
  s3: LoadFigures
  /** Service req/s divided by S3 req/s (the same ratio as for MB/s). */
  ratio: number
  /** What the S3 server answered to the conditional GET, for the 304 case. */
  s3Note?: string
}

export interface Phases {
  /** Median of the second before the clients start. */
  before: number
  peak: number
  /** 2 s after the clients hung up. */
  after: number
}

export interface MemoryReport {
  clients: number
  seconds: number
  bytesPerSecondPerClient: number
  objectBytes: number
  sampleIntervalMs: number
  samples: number
  baselineRss: number
  peakRss: number
  growth: number
  /** Kernel high-water mark over the phase (VmHWM after clear_refs), when available. */
  kernelPeakRss?: number
  afterRss: number
  openFds: Phases
  /** Established connections from the service to the S3 server. */
  s3Sockets: Phases
  /** Established connections of clients to the service. */
  clientSockets: Phases
  statuses: Record<string, number>
  bytesReceived: number
  /** What the S3 server read (object files, request headers) while the clients streamed. */
  s3BytesRead: number
  /**
   * Peaks of the service's kernel socket queues (not part of its RSS): bytes
   * S3 sent that the service has not read, and bytes it wrote that the
   * clients have not taken yet. Backpressure parks the read-ahead here.
   */
  kernelQueues: { unreadFromS3: number, unsentToClients: number }
  completed: number
  clientErrors: string[]
}

export interface Report {
  startedAt: string
  node: string
  cpus: number
  settings: Record<string, number | string>
  cases: CaseReport[]
  /** Statuses of single conditional GETs (If-None-Match: current ETag), with and without Cache-Control: no-cache. */
  conditional: { service: number, serviceWithNoCache: number, s3: number, s3WithNoCache: number }
  memory: MemoryReport
  redisRateLimitKeys: number
  serviceLog: { warn: number, error: number }
  problems: string[]
  totalSeconds: number
}

const MIB = 1024 * 1024
const int = (n: number) => Math.round(n).toLocaleString('en-US')
const dec = (n: number, digits = 1) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const mib = (bytes: number) => `${dec(bytes / MIB)} MiB`

function table (rows: string[][], alignLeft: number[]): string[] {
  const widths = rows[0]!.map((_cell, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)))
  return rows.map((row) => row.map((cell, i) => alignLeft.includes(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join('  ').trimEnd())
}

export function formatReport (report: Report): string {
  const s = report.settings
  const lines = [
    '',
    `chat-attachments download benchmark, ${report.startedAt}, Node ${report.node}, ${report.cpus} CPUs`,
    `autocannon: ${s.durationS} s per run after a ${s.warmupS} s warm-up; MB = 10^6 bytes of body; latency of whole responses;`,
    'CPU = share of one core used during the run by the service, the S3 server, Postgres + Redis (deps), autocannon (gen), anything else (other)',
    ''
  ]
  const rows = [['case', 'source', 'conns', 'req/s', 'MB/s', 'p50 ms', 'p99 ms', 'responses', 'unexpected', 'CPU svc', 'S3', 'deps', 'gen', 'other', 'service/S3']]
  const cpu = (cores: number | undefined) => cores === undefined ? '-' : `${int(cores * 100)}%`
  for (const c of report.cases) {
    for (const [source, f] of [['service', c.service], ['S3', c.s3]] as const) {
      rows.push([
        source === 'service' ? c.name : '',
        source,
        String(f.connections),
        dec(f.reqPerSec),
        c.bodyBytes === 0 ? '-' : dec(f.mbPerSec),
        int(f.latencyP50Ms),
        int(f.latencyP99Ms),
        `${f.expectStatus} x ${int(f.expected)}`,
        int(f.unexpected),
        cpu(f.cpu.service),
        cpu(f.cpu.s3),
        cpu(f.cpu.deps),
        cpu(f.cpu.generator),
        cpu(f.cpu.other),
        source === 'service' ? `${dec(c.ratio, 2)}x` : ''
      ])
    }
  }
  lines.push(...table(rows, [0, 1, 7]))
  for (const c of report.cases) {
    if (c.s3Note) lines.push(`  ${c.name}: ${c.s3Note}`)
    if (c.s3.cappedAt !== undefined) lines.push(`  ${c.name}: the S3 run stopped after ${int(c.s3.cappedAt)} requests (${dec(c.s3.durationS)} s), see problems`)
  }

  const m = report.memory
  const perClient = m.clients > 0 ? m.bytesReceived / m.clients : 0
  const readAhead = m.clients > 0 ? (m.s3BytesRead - m.bytesReceived) / m.clients : 0
  lines.push(
    '',
    `Service RSS while ${m.clients} clients stream the ${mib(m.objectBytes)} object at ${dec(m.bytesPerSecondPerClient / 1e6)} MB/s each for ${m.seconds} s (sampled every ${m.sampleIntervalMs} ms, ${m.samples} samples)`,
    ...table([
      ['baseline', mib(m.baselineRss), 'median of the second before the clients start'],
      ['peak', mib(m.peakRss), m.kernelPeakRss === undefined ? '' : `kernel high-water mark ${mib(m.kernelPeakRss)}`],
      ['peak - baseline', mib(m.growth), `buffering every body would take ${mib(m.clients * m.objectBytes)}`],
      ['after hang-up', mib(m.afterRss), '2 s after the clients hung up'],
      ['clients', `${m.clients}`, `status ${Object.entries(m.statuses).map(([code, n]) => `${code} x ${n}`).join(', ')}; ${dec(perClient / 1e6)} MB each, ${dec(m.bytesReceived / 1e6)} MB in all, ${m.completed} finished`],
      ['S3 read-ahead', `${dec(readAhead / 1e6)} MB`, `per stream: the S3 server read ${dec(m.s3BytesRead / 1e6)} MB for the ${dec(m.bytesReceived / 1e6)} MB the clients got`],
      ['kernel queues', `${dec(m.kernelQueues.unreadFromS3 / 1e6)} MB`, `at most, sent by S3 and not yet read by the service; ${dec(m.kernelQueues.unsentToClients / 1e6)} MB written and not yet taken by the clients (socket buffers, not RSS)`],
      ['S3 connections', `${m.s3Sockets.peak}`, `at peak; ${m.s3Sockets.before} before, ${m.s3Sockets.after} after hang-up`],
      ['client connections', `${m.clientSockets.peak}`, `at peak; ${m.clientSockets.before} before, ${m.clientSockets.after} after hang-up`],
      ['open fds', `${m.openFds.peak}`, `at peak; ${m.openFds.before} before, ${m.openFds.after} after hang-up (Postgres pool grows up to DATABASE_POOL_MAX)`]
    ], [0, 2]).map((line) => `  ${line}`),
    '',
    `Rate-limit keys in Redis: ${report.redisRateLimitKeys}; service log lines at warn: ${report.serviceLog.warn}, at error or above: ${report.serviceLog.error}`,
    `Total run time: ${dec(report.totalSeconds)} s`,
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

/** What deserves a look: wrong answers, memory or connections not released, log lines at warn and above. */
export function findProblems (cases: CaseReport[], memory: MemoryReport, log: LogSummary, s3304: { fdsBefore: number, fdsAfter: number, requests: number }): string[] {
  const problems: string[] = []
  for (const c of cases) {
    for (const [source, f] of [['service', c.service], ['S3', c.s3]] as const) {
      if (f.unexpected > 0) {
        problems.push(`${source} ${c.name}: ${f.unexpected} of ${f.requests + f.errors} answers were not ${f.expectStatus} ` +
          `(statuses ${JSON.stringify(f.statusCounts)}, ${f.errors} connection errors, ${f.timeouts} timeouts)`)
      }
    }
  }
  for (const c of cases) {
    for (const [source, f] of [['service', c.service], ['S3', c.s3]] as const) {
      const other = f.cpu.other ?? 0
      if (other > 0.25) problems.push(`${source} ${c.name}: other processes used ${int(other * 100)}% of a core during the run; its figures are disturbed`)
    }
  }
  const leaked = s3304.fdsAfter - s3304.fdsBefore
  if (leaked > s3304.requests / 2) {
    problems.push(`local S3 server (s3rver, not the service): ${int(leaked)} more open file descriptors after the conditional GETs ` +
      `(${int(s3304.requests)} measured, plus the warm-up); it opens the object before evaluating If-None-Match and never closes it ` +
      'on a 304, so the S3 304 run is capped below its descriptor limit')
  }
  if (Object.keys(memory.statuses).some((code) => code !== '200')) problems.push(`slow clients: statuses ${JSON.stringify(memory.statuses)}`)
  for (const error of new Set(memory.clientErrors)) problems.push(`slow client failed before the time was up: ${error}`)
  // With backpressure a stream holds a few buffers (plus garbage the GC has
  // not returned yet); without it, each body is read from S3 at S3's pace and
  // held until the slow client takes it, i.e. whole objects.
  const bodies = memory.clients * memory.objectBytes
  if (memory.growth > Math.max(64 * MIB, bodies / 10)) {
    problems.push(`service RSS grew by ${mib(memory.growth)} under ${memory.clients} slow streams (over 10% of the ${mib(bodies)} of whole bodies)`)
  }
  if (memory.s3Sockets.after > memory.s3Sockets.before) {
    problems.push(`service holds ${memory.s3Sockets.after} connections to S3 2 s after the slow clients hung up (${memory.s3Sockets.before} before): S3 bodies not released`)
  }
  if (memory.clientSockets.after > memory.clientSockets.before) {
    problems.push(`service holds ${memory.clientSockets.after} client connections 2 s after the slow clients hung up (${memory.clientSockets.before} before)`)
  }
  for (const m of log.messages) problems.push(`service log, level ${m.level}, ${m.count} x "${m.msg}"; first: ${m.example}`)
  if (log.other !== '') problems.push(`note: the service printed (not pino): ${log.other.slice(0, 400)}`)
  return problems
}
