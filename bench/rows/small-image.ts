// A 20 KiB image, 200: the common download. Baseline: the naive SDK proxy
// (GetObject, reply.send(Body)) on the same core, reading the same object
// from the same origin (nginx). Measured in the same turns, not a goal: the
// bare node:http relay, what Node.js itself costs per request here.
import { dec, int } from '../lib/format.js'
import { microsPerRequest as us } from '../lib/load.js'
import { judge, type BenchRow } from './row.js'

export const smallImage: BenchRow = {
  path: '20 KiB image, 200',
  async measure (ctx) {
    const service = await ctx.service()
    const { small } = ctx.objects
    const run = { connections: ctx.knobs.connections, expectStatus: 200, bodyBytes: small.bytes }
    const [s, p, r] = await ctx.loadTriple(['service 20 KiB', {
      ...run,
      url: `${service.baseUrl}${small.path}`,
      headers: ctx.userAuth,
      watch: ctx.watchService(service),
      peakRssOf: service.pid
    }], ['naive proxy 20 KiB', {
      ...run,
      url: `${ctx.proxy.baseUrl}/${small.key}`,
      watch: async () => ({ server: [ctx.proxy.pid], origin: [ctx.nginx.pid] })
    }], ['bare relay 20 KiB', {
      ...run,
      url: `${ctx.relay.baseUrl}/${small.key}`,
      watch: async () => ({ server: [ctx.relay.pid], origin: [ctx.nginx.pid] })
    }])
    const figures = {
      serviceReqPerSec: s.reqPerSec,
      serviceMicrosPerRequest: us(s, 'server'),
      postgresMicrosPerRequest: us(s, 'postgres'),
      proxyReqPerSec: p.reqPerSec,
      proxyMicrosPerRequest: us(p, 'server'),
      relayMicrosPerRequest: us(r, 'server')
    }
    return {
      path: this.path,
      checks: [
        judge({
          figure: 'CPU per request',
          service: `${int(figures.serviceMicrosPerRequest)} µs (${int(s.reqPerSec)} req/s)`,
          baseline: '',
          value: figures.serviceMicrosPerRequest,
          goal: { op: '<=', bound: 350, unit: 'µs' }
        }),
        judge({
          figure: 'requests per CPU-second',
          service: int(1e6 / figures.serviceMicrosPerRequest),
          baseline: `naive SDK proxy ${int(1e6 / figures.proxyMicrosPerRequest)} (${int(figures.proxyMicrosPerRequest)} µs/req, ${int(p.reqPerSec)} req/s)`,
          ratio: figures.proxyMicrosPerRequest / figures.serviceMicrosPerRequest,
          goal: { op: '>=', bound: 3, unit: 'x' }
        })
      ],
      notes: [
        `the service's Postgres backends used another ${int(figures.postgresMicrosPerRequest)} µs per request (not in the goal)`,
        `bare node:http relay (no framework, token, row or signature; not a goal): ${int(figures.relayMicrosPerRequest)} µs per request, ` +
          `${int(r.reqPerSec)} req/s; the service costs ${dec(figures.serviceMicrosPerRequest / figures.relayMicrosPerRequest, 2)}x it, the naive proxy ${dec(figures.proxyMicrosPerRequest / figures.relayMicrosPerRequest, 2)}x`
      ],
      figures
    }
  }
}
