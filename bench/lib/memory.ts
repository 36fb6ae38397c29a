// Memory under slow readers: N clients stream the large object at a low
// rate while the service's RSS, descriptors and TCP connections are sampled.
// A service that streams with backpressure holds a few buffers per stream;
// one that buffers bodies grows by the object size per client.
import { bytesRead, processStats, resetPeakRss, sleep } from './infra.js'
import { sampleProcess, slowDownload, type Sample } from './load.js'
import type { MemoryReport, Phases } from './report.js'

export interface MemoryPhaseOptions {
  pid: number
  /** The S3 server's process: what it reads from disk is what the service pulled. */
  s3Pid: number
  url: string
  headers: Record<string, string>
  ports: { service: number, s3: number }
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
  const s3ReadBefore = await bytesRead(o.s3Pid)
  const results = await Promise.all(Array.from({ length: o.clients }, () => slowDownload(o.url, o.headers, {
    seconds: o.seconds,
    bytesPerSecond: o.bytesPerSecond,
    highWaterMark: 16 * 1024
  })))
  const loadEnd = sampler.now()
  const s3Read = (await bytesRead(o.s3Pid)) - s3ReadBefore
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
  const fromS3 = (s: Sample) => s.tcp.filter((c) => c.remotePort === o.ports.s3)
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
    s3Sockets: phases((s) => fromS3(s).length),
    clientSockets: phases((s) => toClients(s).length),
    kernelQueues: {
      unreadFromS3: Math.max(...during.map((s) => sum(fromS3(s), 'rxQueue'))),
      unsentToClients: Math.max(...during.map((s) => sum(toClients(s), 'txQueue')))
    },
    statuses,
    bytesReceived: results.reduce((sum, r) => sum + r.bytes, 0),
    s3BytesRead: s3Read,
    completed: results.filter((r) => r.completed).length,
    clientErrors: results.flatMap((r) => r.error ? [r.error] : [])
  }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? NaN
}
