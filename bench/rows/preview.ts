// A ready 320 preview, 200: what a chat bubble loads. Baseline: the 20 KiB
// original from the same service, measured in turns with the preview, so the
// ratio is the cost of the preview route's extra lookup (the preview row)
// next to serving the original. The preview is made by the
// upload's background generation, or by the first request below.
import { int } from '../lib/format.js'
import { microsPerRequest as us } from '../lib/load.js'
import { judge, type BenchRow } from './row.js'

export const readyPreview: BenchRow = {
  path: 'ready 320 preview, 200',
  async measure (ctx) {
    const service = await ctx.service()
    const url = `${service.baseUrl}${ctx.objects.small.path}/preview/320`
    const headers = { ...ctx.userAuth, accept: 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8' }
    const first = await fetch(url, { headers })
    const bodyBytes = (await first.arrayBuffer()).byteLength
    if (first.status !== 200 || first.headers.get('content-type') !== 'image/webp') {
      throw new Error(`the preview answered ${first.status} ${first.headers.get('content-type') ?? ''}`)
    }
    const { small } = ctx.objects
    const [p, original] = await ctx.loadPair(['service 320 preview', {
      url,
      headers,
      connections: ctx.knobs.connections,
      expectStatus: 200,
      bodyBytes,
      watch: ctx.watchService(service),
      peakRssOf: service.pid
    }], ['service 20 KiB, beside the preview', {
      url: `${service.baseUrl}${small.path}`,
      headers: ctx.userAuth,
      connections: ctx.knobs.connections,
      expectStatus: 200,
      bodyBytes: small.bytes,
      watch: ctx.watchService(service)
    }])
    const figures = {
      previewBytes: bodyBytes,
      previewReqPerSec: p.reqPerSec,
      previewMicrosPerRequest: us(p, 'server'),
      originalReqPerSec: original.reqPerSec,
      originalMicrosPerRequest: us(original, 'server')
    }
    return {
      path: this.path,
      checks: [
        judge({
          figure: 'req/s, same core',
          service: `${int(p.reqPerSec)} (${int(figures.previewMicrosPerRequest)} µs/req)`,
          baseline: `20 KiB original ${int(original.reqPerSec)} (${int(figures.originalMicrosPerRequest)} µs/req)`,
          ratio: p.reqPerSec / original.reqPerSec,
          goal: { op: '>=', bound: 0.8, unit: 'x' }
        })
      ],
      notes: [`the 320 WebP preview of the 20 KiB PNG is ${int(bodyBytes)} bytes`],
      figures
    }
  }
}
