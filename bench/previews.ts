// Preview benchmark (node --import tsx bench/previews.ts): in one run,
// 1. generation time p50/p95 of a 12 MP JPEG and a 12 MP HEIC, per size,
//    one job at a time;
// 2. the peak RSS of the process running the image engine while 20
//    different 12 MP photos (JPEG, some rotated or progressive, and HEIC)
//    are previewed at once, against its idle RSS.
// The engine runs in its own process (bench/lib/preview-child.ts) with the
// service's defaults, so its RSS holds nothing of the fixture building.
// Progress goes to stderr, results to stdout.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import { processStats, resetPeakRss, ROOT, sleep } from './lib/infra.js'
import type { Photo, Reply, Request } from './lib/preview-child.js'

const run = promisify(execFile)
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const JPEGS = Number(process.env.BENCH_JPEG_PHOTOS ?? 14)
const HEICS = Number(process.env.BENCH_HEIC_PHOTOS ?? 6)
const SAMPLE_MS = 20
const SIZES = [320, 1280]
const MiB = 1024 * 1024
const log = (message: string) => process.stderr.write(`${message}\n`)

/** A 12 MP photo-like picture (smoothed noise on a gradient), different for each seed. */
async function photoPixels (seed: number): Promise<{ raw: Buffer, width: number, height: number }> {
  const [width, height] = [4032, 3024]
  const noise = await sharp({ create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 100 + seed * 5, sigma: 35 } } })
    .blur(1.5).raw().toBuffer()
  return { raw: noise, width, height }
}

async function smallPhotos (dir: string): Promise<{ jpeg: Photo, heic: Photo }> {
  const jpeg = join(dir, 'small.jpg')
  const png = join(dir, 'small.png')
  const heic = join(dir, 'small.heic')
  await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } }).toFile(jpeg)
  await sharp(jpeg).png().toFile(png)
  await run('heif-enc', ['-q', '60', '-o', heic, png])
  return { jpeg: { file: jpeg, contentType: 'image/jpeg' }, heic: { file: heic, contentType: 'image/heic' } }
}

async function makePhotos (dir: string): Promise<Photo[]> {
  const photos: Photo[] = []
  for (let i = 0; i < JPEGS; i++) {
    const { raw, width, height } = await photoPixels(i)
    const file = join(dir, `photo-${i}.jpg`)
    let image = sharp(raw, { raw: { width, height, channels: 3 } })
    if (i % 3 === 1) image = image.withMetadata({ orientation: 6 })
    await image.jpeg({ quality: 88, progressive: i % 4 === 2 }).toFile(file)
    photos.push({ file, contentType: 'image/jpeg' })
    log(`  jpeg ${i + 1}/${JPEGS}`)
  }
  for (let i = 0; i < HEICS; i++) {
    const { raw, width, height } = await photoPixels(JPEGS + i)
    const png = join(dir, `photo-h${i}.png`)
    const file = join(dir, `photo-h${i}.heic`)
    await sharp(raw, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 }).toFile(png)
    await run('heif-enc', ['-q', '60', '-p', 'preset=ultrafast', '-o', file, png])
    await rm(png)
    photos.push({ file, contentType: 'image/heic' })
    log(`  heic ${i + 1}/${HEICS}`)
  }
  return photos
}

type Ask = Request extends infer R ? R extends Request ? Omit<R, 'id'> : never : never

function startChild (): { child: ChildProcess, ask: (request: Ask) => Promise<Reply>, ready: Promise<unknown> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/preview-child.ts')], {
    cwd: ROOT,
    // MALLOC_ARENA_MAX as the Dockerfile sets it, unless given.
    env: { MALLOC_ARENA_MAX: '2', ...process.env, PREVIEW_QUEUE_MAX: '100', PREVIEW_TIMEOUT_MS: '120000' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const waiting = new Map<number, (reply: Reply) => void>()
  let next = 1
  child.on('message', (reply: Reply) => { waiting.get(reply.id)?.(reply); waiting.delete(reply.id) })
  const ready = new Promise((resolve) => waiting.set(0, resolve))
  const ask = (request: Ask) => new Promise<Reply>((resolve, reject) => {
    const id = next++
    waiting.set(id, (reply) => reply.error ? reject(new Error(reply.error)) : resolve(reply))
    child.send({ ...request, id })
  })
  return { child, ask, ready }
}

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)] ?? NaN
}

async function main (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ca-bench-previews-'))
  let child: ChildProcess | undefined
  const cleanup = async () => {
    child?.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
  process.once('SIGINT', () => { cleanup().finally(() => process.exit(130)) })
  try {
    log(`building ${JPEGS} JPEG and ${HEICS} HEIC photos of 12 MP...`)
    const photos = await makePhotos(dir)
    const small = await smallPhotos(dir)
    const variants = SIZES.map((size) => ({ size, format: 'webp' as const }))
    const started = startChild()
    child = started.child
    await started.ready
    const pid = child.pid!

    const idleRss = async () => {
      const samples: number[] = []
      for (let i = 0; i < 25; i++) { samples.push((await processStats(pid)).rss); await sleep(SAMPLE_MS) }
      return percentile(samples, 50)
    }
    await sleep(1_000)
    const cold = await idleRss()
    // A small JPEG and HEIC load libvips' codecs and compile the WebAssembly
    // module, as the first upload would in the service.
    log('warming up with a small JPEG and a small HEIC...')
    await started.ask({ type: 'generate', photos: [small.jpeg, small.heic], variants })
    await sleep(2_000)
    const idle = await idleRss()

    log(`previewing ${photos.length} photos at once...`)
    const kernelPeak = await resetPeakRss(pid)
    let peak = 0
    const sampling = { on: true }
    const sampler = (async () => { while (sampling.on) { peak = Math.max(peak, (await processStats(pid)).rss); await sleep(SAMPLE_MS) } })()
    const burstStart = Date.now()
    const burst = await started.ask({ type: 'generate', photos, variants })
    const burstMs = Date.now() - burstStart
    sampling.on = false
    await sampler
    if (kernelPeak) peak = Math.max(peak, (await processStats(pid)).hwm)
    await sleep(2_000)
    const after = (await processStats(pid)).rss

    log('timing one job at a time...')
    const timings: Array<{ format: string, size: number, p50: number, p95: number, runs: number }> = []
    for (const photo of [photos[0], photos[JPEGS]]) {
      if (!photo) continue
      for (const size of SIZES) {
        const reply = await started.ask({ type: 'time', photo, variants: [{ size, format: 'webp' }], runs: RUNS })
        timings.push({ format: photo.contentType, size, p50: percentile(reply.ms!, 50), p95: percentile(reply.ms!, 95), runs: RUNS })
      }
    }

    const states = burst.states ?? []
    console.log('Generation time, one job at a time (12 MP original -> one WebP preview + ThumbHash)')
    console.log('original    size   runs   p50 ms   p95 ms')
    for (const t of timings) {
      console.log(`${t.format.padEnd(11)} ${String(t.size).padStart(4)}   ${String(t.runs).padStart(4)}  ${t.p50.toFixed(0).padStart(7)}  ${t.p95.toFixed(0).padStart(7)}`)
    }
    console.log('')
    console.log(`Memory: ${photos.length} different 12 MP photos (${JPEGS} JPEG, ${HEICS} HEIC) previewed at once, both sizes each`)
    console.log(`  idle RSS        ${(idle / MiB).toFixed(0)} MiB after a small JPEG and HEIC (${(cold / MiB).toFixed(0)} MiB before any image)`)
    console.log(`  peak RSS        ${(peak / MiB).toFixed(0)} MiB${kernelPeak ? ' (sampled every 20 ms and VmHWM)' : ' (sampled every 20 ms)'}`)
    console.log(`  peak - idle     ${((peak - idle) / MiB).toFixed(0)} MiB (goal: at most 300 MiB; ${((peak - cold) / MiB).toFixed(0)} MiB above the RSS before any image)`)
    console.log(`  concurrency     ${process.env.PREVIEW_CONCURRENCY || 'one per CPU'}; MALLOC_ARENA_MAX ${process.env.MALLOC_ARENA_MAX ?? '2 (as in the Dockerfile)'}`)
    console.log(`  2 s after       ${(after / MiB).toFixed(0)} MiB`)
    console.log(`  all done in     ${(burstMs / 1000).toFixed(1)} s; outcomes: ${[...new Set(states)].map((s) => `${s} x ${states.filter((x) => x === s).length}`).join(', ')}`)
    console.log(JSON.stringify({ timings, memory: { photos: photos.length, jpeg: JPEGS, heic: HEICS, coldRss: cold, idleRss: idle, peakRss: peak, growth: peak - idle, afterRss: after, burstMs, states } }))
  } finally {
    await cleanup()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
