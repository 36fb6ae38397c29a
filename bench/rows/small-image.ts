// A 20 KiB image, 200: the common download, read again and again, so its
// body is kept with its cached row (BODY_CACHE_MAX_BYTES). Baseline: the
// naive SDK proxy (GetObject, reply.send(Body)) on the same core, reading
// the same object from the same origin (nginx). Measured in the same turns,
// not goals: a second service with BODY_CACHE_MAX_BYTES=0 (every read asks
// S3: what a read costs when its body is not kept), and the bare node:http
// relay, what Node.js itself costs per request here.
import { dec, int } from '../lib/format.js'
import { microsPerRequest as us } from '../lib/load.js'
import { judge, type BenchRow } from './row.js'

export const smallImage: BenchRow = {
  path: '20 KiB image, 200',
  async measure (ctx) {
    const service = await ctx.service()
    const uncached = await ctx.secondService({ env: { BODY_CACHE_MAX_BYTES: '0' } })
    const { small } = ctx.objects
    const run = { connections: ctx.knobs.connections, expectStatus: 200, bodyBytes: small.bytes }
    const of = (svc: typeof service) => ({
      ...run,
      url: `${svc.baseUrl}${small.path}`,
      headers: ctx.userAuth,
      watch: ctx.watchService(svc),
      peakRssOf: svc.pid
    })
    const [s, u, p, r] = await ctx.loadMany([['service 20 KiB', of(service)], ['service 20 KiB, body cache off', of(uncached)], ['naive proxy 20 KiB', {
      ...run,
      url: `${ctx.proxy.baseUrl}/${small.key}`,
      watch: async () => ({ server: [ctx.proxy.pid], origin: [ctx.nginx.pid] })
    }], ['bare relay 20 KiB', {
      ...run,
      url: `${ctx.relay.baseUrl}/${small.key}`,
      watch: async () => ({ server: [ctx.relay.pid], origin: [ctx.nginx.pid] })
    }]])
    await uncached.stop()
    if (!s || !u || !p || !r) throw new Error('20 KiB: a case has no figures')
    const figures = {
      serviceReqPerSec: s.reqPerSec,
      serviceMicrosPerRequest: us(s, 'server'),
      postgresMicrosPerRequest: us(s, 'postgres'),
      proxyReqPerSec: p.reqPerSec,
      proxyMicrosPerRequest: us(p, 'server'),
      uncachedMicrosPerRequest: us(u, 'server'),
      uncachedReqPerSec: u.reqPerSec,
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
        `with BODY_CACHE_MAX_BYTES=0 (every read asks S3; not a goal): ${int(figures.uncachedMicrosPerRequest)} µs per request, ${int(u.reqPerSec)} req/s, ` +
          `${dec(figures.proxyMicrosPerRequest / figures.uncachedMicrosPerRequest, 2)}x the naive proxy`,
        `the service's Postgres backends used another ${int(figures.postgresMicrosPerRequest)} µs per request (not in the goal)`,
        `bare node:http relay (no framework, token, row or signature; not a goal): ${int(figures.relayMicrosPerRequest)} µs per request, ` +
          `${int(r.reqPerSec)} req/s; the service costs ${dec(figures.serviceMicrosPerRequest / figures.relayMicrosPerRequest, 2)}x it, the naive proxy ${dec(figures.proxyMicrosPerRequest / figures.relayMicrosPerRequest, 2)}x`
      ],
      figures
    }
  }
}
