// Load generators: autocannon for throughput and latency, and slow clients
// (node:http, a throttled consumer with small buffers) for memory under
// backpressure, plus a sampler of another process's RSS.
import { request } from 'node:http'
import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import autocannon from 'autocannon'
import { bytesRead, cpuSeconds, machineBusySeconds, processStats, resetPeakRss, tcpConnections, type ProcessStats, type TcpConnection } from './infra.js'

/**
 * autocannon 9 keeps every response body, decoded into a string
 * (PipelinedRequestsQueue#addBody: `req.body += data`), for body checks the
 * benchmark does not use. With 64 MiB bodies that costs a full CPU and caps
 * it near 70 MB/s, so the 64 MiB case would measure autocannon. Bodies are
 * dropped instead (they are checked once, by SHA-256, before the runs).
 * Returns false when autocannon's internals changed and nothing was patched.
 */
export function dropResponseBodies (): boolean {
  try {
    const queue = createRequire(import.meta.url)('autocannon/lib/pipelinedRequestsQueue.js') as { prototype?: { addBody?: unknown } }
    if (typeof queue.prototype?.addBody !== 'function') return false
    queue.prototype.addBody = function addBody () {}
    return true
  } catch {
    return false
  }
}

export interface LoadCase {
  url: string
  headers?: Record<string, string>
  connections: number
  durationS: number
  warmupS: number
  /** The status every response should have (200, or 304 for conditional requests). */
  expectStatus: number
  /** Body bytes of an expected response, for MB/s. */
  bodyBytes: number
  /** Processes whose CPU use during the measured run is reported, by name; looked up after the warm-up. */
  watch?: () => Promise<Record<string, number[]>>
  /** A process whose peak RSS during the measured run is reported (kernel high-water mark). */
  peakRssOf?: number
  /** The core the process under test (`server` in watch) is pinned to: what else ran there is reported. */
  serverCore?: number
}

export interface LoadFigures {
  connections: number
  /** Seconds actually measured. */
  durationS: number
  requests: number
  reqPerSec: number
  /** Body bytes per second of expected responses, MB = 10^6 bytes. */
  mbPerSec: number
  latencyP50Ms: number
  latencyP99Ms: number
  latencyMaxMs: number
  expectStatus: number
  expected: number
  /** Responses with another status, plus connection errors and timeouts. */
  unexpected: number
  statusCounts: Record<string, number>
  errors: number
  timeouts: number
  /**
   * CPU used during the measured run, in cores (1 = one core busy): each
   * watched process, `generator` (this process, autocannon), `other`
   * (everything else on the machine, which disturbs the figures) and, with
   * serverCore, `otherOnServerCore` (the time the server's core spent on
   * anything but the watched server).
   */
  cpu: Record<string, number>
  /** CPU-seconds used during the measured run by each watched group and `generator`. */
  cpuSeconds: Record<string, number>
  /**
   * Bytes the load generator read during the measured run (rchar of its
   * process: bodies and headers, partial responses included), per second.
   * Unlike mbPerSec it does not lose the bodies cut off at the end of a run,
   * which matters when a run completes only a few large responses.
   */
  receivedMBPerSec: number
  bytesReceived: number
  /** Peak RSS of `peakRssOf` during the measured run, bytes, when the kernel let it be reset. */
  peakRss?: number
}

/** CPU time of a watched group per response, in µs. */
export function microsPerRequest (f: LoadFigures, group: string): number {
  return ((f.cpuSeconds[group] ?? NaN) / f.requests) * 1e6
}

async function cpuOf (watch: Record<string, number[]>, serverCore: number | undefined): Promise<Record<string, number>> {
  const groups: Record<string, number[]> = { ...watch, generator: [process.pid] }
  // A process on another machine (or gone) counts as nothing.
  const total = async (pids: number[]) => (await Promise.all(pids.map((pid) => cpuSeconds(pid).catch(() => 0)))).reduce((a, b) => a + b, 0)
  const entries = await Promise.all(Object.entries(groups).map(async ([name, pids]) => [name, await total(pids)] as const))
  return {
    ...Object.fromEntries(entries),
    machine: await machineBusySeconds(),
    ...(serverCore !== undefined ? { serverCore: await machineBusySeconds(serverCore) } : {})
  }
}

function cpuUsed (before: Record<string, number>, after: Record<string, number>, seconds: number): Pick<LoadFigures, 'cpu' | 'cpuSeconds'> {
  const used = Object.fromEntries(Object.entries(after).map(([name, value]) => [name, value - (before[name] ?? 0)]))
  const { machine = 0, serverCore, ...processes } = used
  const ours = Object.values(processes).reduce((sum, value) => sum + value, 0)
  const shares = Object.fromEntries(Object.entries(processes).map(([name, value]) => [name, value / seconds]))
  const onServerCore: Record<string, number> = serverCore === undefined ? {} : { otherOnServerCore: Math.max(0, serverCore - (processes.server ?? 0)) / seconds }
  return { cpu: { ...shares, other: Math.max(0, machine - ours) / seconds, ...onServerCore }, cpuSeconds: processes }
}

/** A warm-up run (discarded), then the measured run. */
export async function measure (c: LoadCase): Promise<LoadFigures> {
  await warmUp(c)
  return await measureOnce(c, c.durationS)
}

/**
 * Cases measured in turns, for ratios that hold when the machine's speed
 * drifts during the run (a shared host): after a warm-up of each, `slices`
 * rounds of durationS / slices seconds each, every other round in reverse
 * order (A B C, C B A, A B C ...), so all see the same minutes of the
 * machine. Each case's figures are its slices summed (latency: the median of
 * the slices' p50, the worst p99 and max).
 */
export async function measureTurns (cases: LoadCase[], slices: number): Promise<LoadFigures[]> {
  for (const c of cases) await warmUp(c)
  const runs: LoadFigures[][] = cases.map(() => [])
  const forward = cases.map((_, i) => i)
  for (let round = 0; round < slices; round++) {
    for (const which of round % 2 === 0 ? forward : [...forward].reverse()) {
      runs[which]!.push(await measureOnce(cases[which]!, cases[0]!.durationS / slices))
    }
  }
  return runs.map(combine)
}

async function warmUp (c: LoadCase): Promise<void> {
  if (c.warmupS > 0) await autocannon({ url: c.url, headers: c.headers ?? {}, connections: c.connections, timeout: 60, duration: c.warmupS })
}

async function measureOnce (c: LoadCase, durationS: number): Promise<LoadFigures> {
  const base = { url: c.url, headers: c.headers ?? {}, connections: c.connections, timeout: 60 }
  const rssReset = c.peakRssOf !== undefined && await resetPeakRss(c.peakRssOf)
  const watch = c.watch ? await c.watch() : {}
  const cpuBefore = await cpuOf(watch, c.serverCore)
  const [readBefore, startedAt] = [await bytesRead(process.pid), performance.now()]
  const result = await autocannon({ ...base, duration: durationS })
  const [bytesReceived, wallSeconds] = [await bytesRead(process.pid) - readBefore, (performance.now() - startedAt) / 1000]
  const cpuAfter = await cpuOf(watch, c.serverCore)
  const peakRss = rssReset && c.peakRssOf !== undefined ? (await processStats(c.peakRssOf)).hwm : undefined

  const statusCounts = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]))
  const expected = statusCounts[String(c.expectStatus)] ?? 0
  const responses = Object.values(statusCounts).reduce((sum, n) => sum + n, 0)
  const duration = result.duration
  return {
    connections: c.connections,
    durationS: duration,
    requests: responses,
    reqPerSec: responses / duration,
    mbPerSec: (expected * c.bodyBytes) / duration / 1e6,
    receivedMBPerSec: bytesReceived / wallSeconds / 1e6,
    bytesReceived,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMaxMs: result.latency.max,
    expectStatus: c.expectStatus,
    expected,
    unexpected: responses - expected + result.errors,
    statusCounts,
    errors: result.errors,
    timeouts: result.timeouts,
    ...cpuUsed(cpuBefore, cpuAfter, duration),
    ...(peakRss !== undefined ? { peakRss } : {})
  }
}

/** The figures of several measured slices of one case, as one run. */
function combine (slices: LoadFigures[]): LoadFigures {
  const sum = (pick: (f: LoadFigures) => number) => slices.reduce((total, f) => total + pick(f), 0)
  const first = slices[0]!
  const durationS = sum((f) => f.durationS)
  const requests = sum((f) => f.requests)
  const expected = sum((f) => f.expected)
  const bytesReceived = sum((f) => f.bytesReceived)
  const keys = (pick: (f: LoadFigures) => Record<string, number>) => [...new Set(slices.flatMap((f) => Object.keys(pick(f))))]
  const statusCounts = Object.fromEntries(keys((f) => f.statusCounts).map((code) => [code, sum((f) => f.statusCounts[code] ?? 0)]))
  const cpuSeconds = Object.fromEntries(keys((f) => f.cpuSeconds).map((name) => [name, sum((f) => f.cpuSeconds[name] ?? 0)]))
  // Shares of a core, weighted by each slice's length.
  const cpu = Object.fromEntries(keys((f) => f.cpu).map((name) => [name, sum((f) => (f.cpu[name] ?? 0) * f.durationS) / durationS]))
  const p50s = slices.map((f) => f.latencyP50Ms).sort((x, y) => x - y)
  const peaks = slices.flatMap((f) => f.peakRss === undefined ? [] : [f.peakRss])
  return {
    connections: first.connections,
    durationS,
    requests,
    reqPerSec: requests / durationS,
    mbPerSec: sum((f) => f.mbPerSec * f.durationS) / durationS,
    receivedMBPerSec: sum((f) => f.receivedMBPerSec * f.durationS) / durationS,
    bytesReceived,
    latencyP50Ms: p50s[Math.floor(p50s.length / 2)]!,
    latencyP99Ms: Math.max(...slices.map((f) => f.latencyP99Ms)),
    latencyMaxMs: Math.max(...slices.map((f) => f.latencyMaxMs)),
    expectStatus: first.expectStatus,
    expected,
    unexpected: sum((f) => f.unexpected),
    statusCounts,
    errors: sum((f) => f.errors),
    timeouts: sum((f) => f.timeouts),
    cpu,
    cpuSeconds,
    ...(peaks.length > 0 ? { peakRss: Math.max(...peaks) } : {})
  }
}

export interface SlowClientResult {
  status: number
  bytes: number
  /** The whole body arrived before the time was up. */
  completed: boolean
  /** Set when the download failed before the time was up. */
  error?: string
}

/**
 * One download read at about `bytesPerSecond` through buffers of
 * `highWaterMark` bytes: the consumer pauses, so the socket stops reading
 * and TCP pushes back on the service. Hangs up after `seconds`.
 */
export async function slowDownload (url: string, headers: Record<string, string>, options: {
  seconds: number
  bytesPerSecond: number
  highWaterMark: number
}): Promise<SlowClientResult> {
  const signal = AbortSignal.timeout(options.seconds * 1000)
  let status = 0
  let bytes = 0
  try {
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      request(url, { headers, agent: false, signal }, resolve).once('error', reject).end()
    })
    status = res.statusCode ?? 0
    const started = performance.now()
    const sink = new Writable({
      highWaterMark: options.highWaterMark,
      write (chunk: Buffer, _encoding, callback) {
        bytes += chunk.length
        const due = started + (bytes / options.bytesPerSecond) * 1000
        setTimeout(callback, Math.max(0, due - performance.now()))
      }
    })
    await pipeline(res, sink)
    return { status, bytes, completed: true }
  } catch (err) {
    if (signal.aborted) return { status, bytes, completed: false }
    return { status, bytes, completed: false, error: `${(err as Error).name}: ${(err as Error).message}` }
  }
}

export interface Sample extends ProcessStats {
  /** Milliseconds since the sampler started. */
  t: number
  tcp: TcpConnection[]
}

/** Reads a process's RSS, open descriptors and TCP connections every `intervalMs` until stopped. */
export function sampleProcess (pid: number, intervalMs: number): { samples: Sample[], now: () => number, stop: () => Promise<void> } {
  const samples: Sample[] = []
  const started = performance.now()
  let pending: Promise<unknown> = Promise.resolve()
  const timer = setInterval(() => {
    const t = performance.now() - started
    pending = Promise.all([processStats(pid), tcpConnections(pid)])
      .then(([stats, tcp]) => { samples.push({ t, ...stats, tcp }) }, () => {})
  }, intervalMs)
  return {
    samples,
    now: () => performance.now() - started,
    async stop () {
      clearInterval(timer)
      await pending
    }
  }
}
