// The read audit's cost (issue 11: within 10%): the 20 KiB download of the
// small-image row with AUDIT_ENABLED=true, then false, the same request in
// the same run. Both with an AUDIT_IP_SALT, as production runs it (every
// recorded read then hashes the client address).
import { int } from '../lib/format.js'
import { microsPerRequest as us } from '../lib/load.js'
import { judge, type BenchRow } from './row.js'

const SALT = 'bench-audit-salt-0123456789'

export const audit: BenchRow = {
  path: '20 KiB, audit on/off',
  async measure (ctx) {
    const { small } = ctx.objects
    const run = async (enabled: boolean) => {
      const service = await ctx.service({ env: { AUDIT_ENABLED: String(enabled), AUDIT_IP_SALT: SALT } })
      return ctx.load(`service 20 KiB, audit ${enabled ? 'on' : 'off'}`, {
        connections: ctx.knobs.connections,
        expectStatus: 200,
        bodyBytes: small.bytes,
        url: `${service.baseUrl}${small.path}`,
        headers: ctx.userAuth,
        watch: ctx.watchService(service),
        peakRssOf: service.pid
      })
    }
    const on = await run(true)
    const off = await run(false)
    const figures = {
      onReqPerSec: on.reqPerSec,
      offReqPerSec: off.reqPerSec,
      onMicrosPerRequest: us(on, 'server'),
      offMicrosPerRequest: us(off, 'server'),
      onPostgresMicrosPerRequest: us(on, 'postgres'),
      offPostgresMicrosPerRequest: us(off, 'postgres')
    }
    return {
      path: this.path,
      checks: [
        judge({
          figure: 'req/s, audit on vs off',
          service: `audit on ${int(on.reqPerSec)} req/s`,
          baseline: `audit off ${int(off.reqPerSec)} req/s`,
          ratio: on.reqPerSec / off.reqPerSec,
          goal: { op: '>=', bound: 0.9, unit: 'x' }
        }),
        judge({
          figure: 'CPU per request',
          service: `audit on ${int(figures.onMicrosPerRequest)} µs`,
          baseline: `audit off ${int(figures.offMicrosPerRequest)} µs`,
          ratio: figures.offMicrosPerRequest / figures.onMicrosPerRequest
        })
      ],
      notes: [`Postgres backends per request: audit on ${int(figures.onPostgresMicrosPerRequest)} µs, off ${int(figures.offPostgresMicrosPerRequest)} µs (the audit's batched INSERTs)`],
      figures
    }
  }
}
