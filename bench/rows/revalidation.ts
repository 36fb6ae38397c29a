// 304 revalidation: the browser asks again with If-None-Match (token, rate
// limit, access, validators, no S3). Baseline: a Fastify hello on the same core.
import { int } from '../lib/format.js'
import { microsPerRequest as us } from '../lib/load.js'
import { judge, type BenchRow } from './row.js'

export const revalidation: BenchRow = {
  path: '304 revalidation',
  async measure (ctx) {
    const service = await ctx.service()
    const { small } = ctx.objects
    const [s, h] = await ctx.loadPair(['service 304', {
      url: `${service.baseUrl}${small.path}`,
      headers: { ...ctx.userAuth, 'if-none-match': small.etag },
      connections: ctx.knobs.connections,
      expectStatus: 304,
      bodyBytes: 0,
      watch: ctx.watchService(service),
      peakRssOf: service.pid
    }], ['Fastify hello', {
      url: `${ctx.hello.baseUrl}/`,
      connections: ctx.knobs.connections,
      expectStatus: 200,
      bodyBytes: 0,
      watch: async () => ({ server: [ctx.hello.pid] })
    }])
    const figures = {
      serviceReqPerSec: s.reqPerSec,
      serviceMicrosPerRequest: us(s, 'server'),
      postgresMicrosPerRequest: us(s, 'postgres'),
      redisMicrosPerRequest: us(s, 'redis'),
      helloReqPerSec: h.reqPerSec,
      helloMicrosPerRequest: us(h, 'server')
    }
    return {
      path: this.path,
      checks: [
        judge({
          figure: 'req/s, same core',
          service: `${int(s.reqPerSec)} req/s`,
          baseline: `Fastify hello ${int(h.reqPerSec)} req/s`,
          ratio: s.reqPerSec / h.reqPerSec,
          goal: { op: '>=', bound: 0.5, unit: 'x' }
        }),
        judge({
          figure: 'CPU per request',
          service: `${int(figures.serviceMicrosPerRequest)} µs; Postgres backends ${int(figures.postgresMicrosPerRequest)} µs`,
          baseline: `Fastify hello ${int(figures.helloMicrosPerRequest)} µs`,
          // Requests per CPU-second: what req/s would be with the core to itself.
          ratio: figures.helloMicrosPerRequest / figures.serviceMicrosPerRequest
        })
      ],
      notes: [`Redis (shared server, other clients included) used ${int(figures.redisMicrosPerRequest)} µs per 304`],
      figures
    }
  }
}
