// A 64 MiB download: throughput against the same object fetched straight
// from the origin (nginx, sendfile) by the same load generator, and the
// service's CPU per GB.
import { dec } from '../lib/format.js'
import { judge, type BenchRow } from './row.js'

export const largeDownload: BenchRow = {
  path: '64 MiB download',
  async measure (ctx) {
    const service = await ctx.service()
    const { large } = ctx.objects
    const run = { connections: ctx.knobs.largeConnections, expectStatus: 200, bodyBytes: large.bytes }
    const [s, o] = await ctx.loadPair(['service 64 MiB', {
      ...run,
      url: `${service.baseUrl}${large.path}`,
      headers: ctx.userAuth,
      watch: ctx.watchService(service),
      peakRssOf: service.pid
    }], ['nginx 64 MiB', {
      ...run,
      url: `${ctx.nginx.endpoint}/${ctx.nginx.bucket}/${large.key}`,
      watch: async () => ({ origin: [ctx.nginx.pid] })
    }])
    // Bytes received, not completed bodies: a run of a few seconds completes
    // only a few 64 MiB bodies, and the one cut off at the end would be lost.
    const gigabytes = s.bytesReceived / 1e9
    const figures = {
      serviceMBPerSec: s.receivedMBPerSec,
      originMBPerSec: o.receivedMBPerSec,
      serviceCpuSecondsPerGB: (s.cpuSeconds.server ?? NaN) / gigabytes
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
      notes: [`MB/s from the bytes the load generator read (rchar), partial bodies included; completed bodies: service ${s.expected}, nginx ${o.expected}`],
      figures
    }
  }
}
