// A 64 MiB download: throughput against the same object fetched straight
// from the origin (nginx, sendfile) by the same load generator, and the
// service's CPU per GB. Measured in the same turns, not a goal: the bare
// node:http relay, what Node.js itself costs to pass the bytes through.
import { dec } from '../lib/format.js'
import { judge, type BenchRow } from './row.js'

export const largeDownload: BenchRow = {
  path: '64 MiB download',
  async measure (ctx) {
    const service = await ctx.service()
    const { large } = ctx.objects
    const run = { connections: ctx.knobs.largeConnections, expectStatus: 200, bodyBytes: large.bytes }
    const [s, o, r] = await ctx.loadTriple(['service 64 MiB', {
      ...run,
      url: `${service.baseUrl}${large.path}`,
      headers: ctx.userAuth,
      watch: ctx.watchService(service),
      peakRssOf: service.pid
    }], ['nginx 64 MiB', {
      ...run,
      url: `${ctx.nginx.endpoint}/${ctx.nginx.bucket}/${large.key}`,
      watch: async () => ({ origin: [ctx.nginx.pid] })
    }], ['bare relay 64 MiB', {
      ...run,
      url: `${ctx.relay.baseUrl}/${large.key}`,
      watch: async () => ({ server: [ctx.relay.pid], origin: [ctx.nginx.pid] })
    }])
    // Bytes received, not completed bodies: a run of a few seconds completes
    // only a few 64 MiB bodies, and the one cut off at the end would be lost.
    const gigabytes = s.bytesReceived / 1e9
    const figures = {
      serviceMBPerSec: s.receivedMBPerSec,
      originMBPerSec: o.receivedMBPerSec,
      serviceCpuSecondsPerGB: (s.cpuSeconds.server ?? NaN) / gigabytes,
      relayMBPerSec: r.receivedMBPerSec,
      relayCpuSecondsPerGB: (r.cpuSeconds.server ?? NaN) / (r.bytesReceived / 1e9)
    }
    return {
      path: this.path,
      checks: [
        judge({
          figure: 'MB/s',
          service: `${dec(figures.serviceMBPerSec, 0)} MB/s`,
          baseline: `same object from nginx ${dec(figures.originMBPerSec, 0)} MB/s`,
          ratio: figures.serviceMBPerSec / figures.originMBPerSec,
          goal: { op: '>=', bound: 0.9, unit: 'x' }
        }),
        judge({
          figure: 'CPU per GB',
          service: `${dec(figures.serviceCpuSecondsPerGB, 2)} CPU-s/GB`,
          baseline: '',
          value: figures.serviceCpuSecondsPerGB,
          goal: { op: '<=', bound: 1.5, unit: 'CPU-s/GB' }
        })
      ],
      notes: [
        `MB/s from the bytes the load generator read (rchar), partial bodies included; completed bodies: service ${s.expected}, nginx ${o.expected}`,
        `bare node:http relay (not a goal): ${dec(figures.relayMBPerSec, 0)} MB/s (${dec(figures.relayMBPerSec / figures.originMBPerSec, 2)}x nginx), ` +
          `${dec(figures.relayCpuSecondsPerGB, 2)} CPU-s/GB; the service ${dec(figures.serviceMBPerSec / figures.relayMBPerSec, 2)}x its MB/s at ${dec(figures.serviceCpuSecondsPerGB / figures.relayCpuSecondsPerGB, 2)}x its CPU per GB`
      ],
      figures
    }
  }
}
