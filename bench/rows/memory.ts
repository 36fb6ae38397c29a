// Memory: the RSS of a fresh `node dist/server.js` at rest after a few
// requests, then while slow clients stream the 64 MiB object (backpressure
// keeps a few buffers per stream; buffering would hold whole bodies), and
// the peaks of the autocannon runs measured before this row.
import { statusOf } from '../lib/api.js'
import { dec, int, MIB, mib, table } from '../lib/format.js'
import { sleep } from '../lib/infra.js'
import { memoryPhase, type MemoryReport } from '../lib/memory.js'
import { judge, type BenchRow } from './row.js'

export const memory: BenchRow = {
  path: 'memory',
  async measure (ctx) {
    const service = await ctx.service({ fresh: true })
    const { small, large } = ctx.objects
    // Load the code the downloads run, then let the process settle.
    for (let i = 0; i < 20; i++) await statusOf(`${service.baseUrl}${small.path}`, ctx.userAuth)
    await statusOf(`${service.baseUrl}${small.path}`, { ...ctx.userAuth, 'if-none-match': small.etag })
    await statusOf(`${service.baseUrl}${large.path}`, { ...ctx.userAuth, range: 'bytes=0-1048575' })
    await sleep(2_000)
    const clients = ctx.knobs.slowClients
    const bytesPerSecond = ctx.knobs.slowMBps * 1e6
    ctx.note(`memory: ${clients} clients stream the 64 MiB object at ${bytesPerSecond / 1e6} MB/s each for ${ctx.knobs.slowSeconds} s`)
    const m = await memoryPhase({
      pid: service.pid,
      originPid: ctx.nginx.pid,
      url: `${service.baseUrl}${large.path}`,
      headers: ctx.userAuth,
      ports: { service: Number(new URL(service.baseUrl).port), origin: Number(new URL(ctx.nginx.endpoint).port) },
      clients,
      seconds: ctx.knobs.slowSeconds,
      bytesPerSecond,
      objectBytes: large.bytes,
      sampleIntervalMs: 100
    })
    ctx.problems.push(...memoryProblems(m))
    const slowPeak = Math.max(m.peakRss, m.kernelPeakRss ?? 0)
    const loadPeaks = Object.entries(ctx.runs).flatMap(([label, f]) => label.startsWith('service') && f.peakRss ? [[label, f.peakRss] as const] : [])
    const loadPeak = loadPeaks.reduce((best, entry) => entry[1] > best[1] ? entry : best, loadPeaks[0] ?? ['', NaN])
    return {
      path: this.path,
      checks: [
        judge({
          figure: 'idle RSS',
          service: `${mib(m.baselineRss)} (${mib(service.readyRss)} when first ready)`,
          baseline: '',
          value: m.baselineRss / MIB,
          goal: { op: '<=', bound: 100, unit: 'MiB' }
        }),
        judge({
          figure: `peak RSS, ${clients} slow clients of 64 MiB`,
          service: mib(slowPeak),
          baseline: '',
          value: slowPeak / MIB,
          goal: { op: '<=', bound: 150, unit: 'MiB' }
        }),
        ...(loadPeaks.length > 0 ? [judge({ figure: 'peak RSS under autocannon', service: `${mib(loadPeak[1])} (${loadPeak[0]})`, baseline: '' })] : [])
      ],
      notes: details(m),
      figures: { idleRss: m.baselineRss, readyRss: service.readyRss, slowClientsPeakRss: slowPeak, ...(loadPeaks.length > 0 ? { loadPeakRss: loadPeak[1] } : {}) }
    }
  }
}

function details (m: MemoryReport): string[] {
  const perClient = m.clients > 0 ? m.bytesReceived / m.clients : 0
  const readAhead = m.clients > 0 ? (m.originBytesRead - m.bytesReceived) / m.clients : 0
  return [
    `${m.clients} slow clients at ${dec(m.bytesPerSecondPerClient / 1e6)} MB/s each for ${m.seconds} s, RSS sampled every ${m.sampleIntervalMs} ms (${m.samples} samples):`,
    ...table([
      ['idle (baseline)', mib(m.baselineRss), 'median of the second before the clients start'],
      ['peak', mib(m.peakRss), m.kernelPeakRss === undefined ? '' : `kernel high-water mark ${mib(m.kernelPeakRss)}`],
      ['peak - idle', mib(m.growth), `buffering every body would take ${mib(m.clients * m.objectBytes)}`],
      ['after hang-up', mib(m.afterRss), '2 s after the clients hung up'],
      ['clients', `${m.clients}`, `status ${Object.entries(m.statuses).map(([code, n]) => `${code} x ${n}`).join(', ')}; ${dec(perClient / 1e6)} MB each, ${m.completed} finished`],
      ['origin read-ahead', `${dec(readAhead / 1e6)} MB`, `per stream: nginx read ${dec(m.originBytesRead / 1e6)} MB for the ${dec(m.bytesReceived / 1e6)} MB the clients got`],
      ['kernel queues', `${dec(m.kernelQueues.unreadFromOrigin / 1e6)} MB`, `at most, sent by nginx and not yet read by the service; ${dec(m.kernelQueues.unsentToClients / 1e6)} MB written and not yet taken by the clients`],
      ['origin connections', `${m.originSockets.peak}`, `at peak; ${m.originSockets.before} before, ${m.originSockets.after} after hang-up`],
      ['client connections', `${m.clientSockets.peak}`, `at peak; ${m.clientSockets.before} before, ${m.clientSockets.after} after hang-up`],
      ['open fds', `${m.openFds.peak}`, `at peak; ${m.openFds.before} before, ${m.openFds.after} after hang-up`]
    ], [0, 2]).map((line) => `  ${line}`)
  ]
}

/** Slow clients that failed, memory that grew by bodies, connections not released. */
function memoryProblems (m: MemoryReport): string[] {
  const problems: string[] = []
  if (Object.keys(m.statuses).some((code) => code !== '200')) problems.push(`slow clients: statuses ${JSON.stringify(m.statuses)}`)
  for (const error of new Set(m.clientErrors)) problems.push(`slow client failed before the time was up: ${error}`)
  // With backpressure a stream holds a few buffers (plus garbage the GC has
  // not returned yet); without it, each body is held until the client takes it.
  const bodies = m.clients * m.objectBytes
  if (m.growth > Math.max(64 * MIB, bodies / 10)) {
    problems.push(`service RSS grew by ${mib(m.growth)} under ${m.clients} slow streams (over 10% of the ${mib(bodies)} of whole bodies)`)
  }
  if (m.originSockets.after > m.originSockets.before) {
    problems.push(`service holds ${int(m.originSockets.after)} connections to the origin 2 s after the slow clients hung up (${m.originSockets.before} before): bodies not released`)
  }
  if (m.clientSockets.after > m.clientSockets.before) {
    problems.push(`service holds ${m.clientSockets.after} client connections 2 s after the slow clients hung up (${m.clientSockets.before} before)`)
  }
  return problems
}
