// Memory under slow readers: N clients stream the large object at a low
// rate while the service's RSS, descriptors and TCP connections are sampled.
// A service that streams with backpressure holds a few buffers per stream;
// one that buffers bodies grows by the object size per client.
import { bytesRead, processStats, resetPeakRss, sleep } from './infra.js'
import { median } from './format.js'
import { sampleProcess, slowDownload, type Sample } from './load.js'

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
  /** Established connections from the service to the origin. */
  originSockets: Phases
  /** Established connections of clients to the service. */
  clientSockets: Phases
  statuses: Record<string, number>
  bytesReceived: number
  /** What the origin read (object files, request headers) while the clients streamed. */
  originBytesRead: number
  /**
   * Peaks of the service's kernel socket queues (not part of its RSS): bytes
   * the origin sent that the service has not read, and bytes it wrote that
   * the clients have not taken yet. Backpressure parks the read-ahead here.
   */
  kernelQueues: { unreadFromOrigin: number, unsentToClients: number }
  completed: number
  clientErrors: string[]
}

export interface MemoryPhaseOptions {
  pid: number
  /** The origin's process: what it reads from disk is what the service pulled. */
  originPid: number
  url: string
  headers: Record<string, string>
  ports: { service: number, origin: number }
  clients: number
  seconds: number
  bytesPerSecond: number
  objectBytes: number
  sampleIntervalMs: number
}

export async function memoryPhase (o: MemoryPhaseOptions): Promise<MemoryReport> {
  const kernelPeak = await resetPeakRss(o.pid)
  const sampler = sampleProcess(o.pid, o.sampleIntervalMs)
  await sleep(1_000)
  const loadStart = sampler.now()
  const originReadBefore = await bytesRead(o.originPid)
  const results = await Promise.all(Array.from({ length: o.clients }, () => slowDownload(o.url, o.headers, {
    seconds: o.seconds,
    bytesPerSecond: o.bytesPerSecond,
    highWaterMark: 16 * 1024
  })))
  const loadEnd = sampler.now()
  const originRead = (await bytesRead(o.originPid)) - originReadBefore
  const hwm = kernelPeak ? (await processStats(o.pid)).hwm : undefined
  await sleep(2_000)
  await sampler.stop()

  const before = sampler.samples.filter((s) => s.t < loadStart)
  const during = sampler.samples.filter((s) => s.t >= loadStart && s.t <= loadEnd + o.sampleIntervalMs)
  const last = sampler.samples.at(-1)
  if (before.length === 0 || during.length === 0 || !last) throw new Error('no RSS samples of the service')
  const phases = (count: (sample: Sample) => number): Phases => ({
    before: median(before.map(count)),
    peak: Math.max(...during.map(count)),
    after: count(last)
  })
  const rss = phases((s) => s.rss)
  const fromOrigin = (s: Sample) => s.tcp.filter((c) => c.remotePort === o.ports.origin)
  const toClients = (s: Sample) => s.tcp.filter((c) => c.localPort === o.ports.service)
  const sum = (connections: Array<{ rxQueue: number, txQueue: number }>, key: 'rxQueue' | 'txQueue') =>
    connections.reduce((total, c) => total + c[key], 0)
  const statuses: Record<string, number> = {}
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1
  return {
    clients: o.clients,
    seconds: o.seconds,
    bytesPerSecondPerClient: o.bytesPerSecond,
    objectBytes: o.objectBytes,
    sampleIntervalMs: o.sampleIntervalMs,
    samples: during.length,
    baselineRss: rss.before,
    peakRss: rss.peak,
    growth: rss.peak - rss.before,
    ...(hwm !== undefined ? { kernelPeakRss: hwm } : {}),
    afterRss: rss.after,
    openFds: phases((s) => s.openFds),
    originSockets: phases((s) => fromOrigin(s).length),
    clientSockets: phases((s) => toClients(s).length),
    kernelQueues: {
      unreadFromOrigin: Math.max(...during.map((s) => sum(fromOrigin(s), 'rxQueue'))),
      unsentToClients: Math.max(...during.map((s) => sum(toClients(s), 'txQueue')))
    },
    statuses,
    bytesReceived: results.reduce((sum, r) => sum + r.bytes, 0),
    originBytesRead: originRead,
    completed: results.filter((r) => r.completed).length,
    clientErrors: results.flatMap((r) => r.error ? [r.error] : [])
  }
}
