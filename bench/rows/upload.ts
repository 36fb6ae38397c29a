// Upload: upload-stage of the 64 MiB file through the service (multipart,
// type sniffing, SHA-256, lib-storage to s3rver, the row) against a direct
// lib-storage upload of the same file to the same server, from a process on
// the same core. Rounds alternate so both see the same machine; the first
// round of each is a warm-up.
import { deleteAttachment, uploadFile } from '../lib/api.js'
import { dec, median } from '../lib/format.js'
import { cpuSeconds, machineBusySeconds } from '../lib/infra.js'
import { startDirectUploader } from '../lib/servers.js'
import { judge, type BenchRow } from './row.js'

interface Upload { ms: number, cpu: number, origin: number, loadCore: number }

const pct = (list: Upload[], field: 'origin' | 'loadCore') => `${dec(100 * median(list.map((r) => r[field])), 0)}%`

export const upload: BenchRow = {
  path: 'upload',
  async measure (ctx) {
    const service = await ctx.service({ origin: 's3rver' })
    const direct = await startDirectUploader({
      S3_ENDPOINT: ctx.s3rver.endpoint,
      S3_BUCKET: ctx.s3rver.bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER'
    }, ctx.cores, ctx.cleanup)
    const bytes = ctx.objects.large.bytes
    const dialogId = `${ctx.dialogId}-uploads`
    const rounds = ctx.knobs.uploadRounds
    ctx.note(`upload: ${rounds} rounds (after one warm-up) of the 64 MiB file, direct lib-storage and through the service, alternating`)
    const results = { direct: [] as Upload[], service: [] as Upload[] }
    // The other side of each upload: s3rver's share of a core, and how busy
    // the load core was (s3rver, and for the service the sending client).
    const loadCore = ctx.cores.pinned ? Number(ctx.cores.loadCores.split(/[,-]/)[0]) : undefined
    const timed = async <T>(pid: number, run: () => Promise<T>) => {
      const [cpu, origin, busy, started] = [await cpuSeconds(pid), await cpuSeconds(ctx.s3rver.pid), await machineBusySeconds(loadCore), performance.now()]
      const value = await run()
      const seconds = (performance.now() - started) / 1000
      const share = async (now: Promise<number>, before: number) => (await now - before) / seconds
      return { value, cpu: await cpuSeconds(pid) - cpu, origin: await share(cpuSeconds(ctx.s3rver.pid), origin), loadCore: await share(machineBusySeconds(loadCore), busy) }
    }
    for (let round = 0; round <= rounds; round++) {
      const key = `bench-direct/${round}`
      const d = await timed(direct.pid, () => direct.upload(key, ctx.largeFile))
      const directMs = d.value
      await direct.delete(key)

      const s = await timed(service.pid, () => uploadFile(service.baseUrl, ctx.serviceAuth, { dialogId, ownerId: ctx.ownerId, file: ctx.largeFile, fileName: `upload-${round}.bin` }))
      const staged = s.value
      await deleteAttachment(service.baseUrl, ctx.serviceAuth, dialogId, staged.attachment.id)
      if (staged.attachment.size !== bytes) throw new Error(`the service stored ${staged.attachment.size} bytes of ${bytes}`)
      if (round === 0) continue
      results.direct.push({ ms: directMs, cpu: d.cpu, origin: d.origin, loadCore: d.loadCore })
      results.service.push({ ms: staged.ms, cpu: s.cpu, origin: s.origin, loadCore: s.loadCore })
    }
    const mbPerSec = (ms: number) => bytes / 1e6 / (ms / 1000)
    const serviceMBps = median(results.service.map((r) => mbPerSec(r.ms)))
    const directMBps = median(results.direct.map((r) => mbPerSec(r.ms)))
    const cpuPerGB = (list: Array<{ cpu: number }>) => median(list.map((r) => r.cpu / (bytes / 1e9)))
    const figures = {
      serviceMBPerSec: serviceMBps,
      directMBPerSec: directMBps,
      serviceCpuSecondsPerGB: cpuPerGB(results.service),
      directCpuSecondsPerGB: cpuPerGB(results.direct)
    }
    const all = (list: Array<{ ms: number }>) => list.map((r) => dec(mbPerSec(r.ms), 0)).join(', ')
    return {
      path: this.path,
      checks: [
        judge({
          figure: 'MB/s, 64 MiB file to s3rver',
          service: `${dec(serviceMBps, 0)} MB/s`,
          baseline: `direct lib-storage upload ${dec(directMBps, 0)} MB/s`,
          ratio: serviceMBps / directMBps,
          goal: { op: '>=', bound: 0.8, unit: 'x' }
        })
      ],
      notes: [
        `medians of ${rounds} rounds; service ${all(results.service)} MB/s, direct ${all(results.direct)} MB/s`,
        `CPU per GB uploaded: service ${dec(figures.serviceCpuSecondsPerGB, 2)} CPU-s, direct lib-storage ${dec(figures.directCpuSecondsPerGB, 2)} CPU-s`,
        `s3rver's share of a core while uploading: service ${pct(results.service, 'origin')}, direct ${pct(results.direct, 'origin')}` +
          (loadCore === undefined ? '' : `; load core ${loadCore} busy: service ${pct(results.service, 'loadCore')}, direct ${pct(results.direct, 'loadCore')}`)
      ],
      figures
    }
  }
}
