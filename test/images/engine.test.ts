// The engine's contract for its callers: a full pool refuses at once with
// PreviewBusyError (503), a job past its limit ends failed/timeout and the
// engine goes on, only configured sizes are accepted. Slots are occupied by
// jobs whose original never arrives (a stream the test holds open), so every
// state is reached by construction.
import { PassThrough, Readable } from 'node:stream'
import sharp from 'sharp'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { createImageEngine, imageEngineOptions } from '../../src/images/engine.js'
import { PreviewBusyError } from '../../src/images/pool.js'

t.setTimeout(120_000)

const variants = [{ size: 320, format: 'webp' as const }]
const options = { sizes: [320, 1280], maxFrames: 100, maxPixels: 50_000_000, maxInputBytes: 10_000_000, queueMax: 1, timeoutMs: 60_000 }
const photo = () => sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } }).jpeg().toBuffer()

t.test('with every slot taken and the queue full, one more job is refused at once with a 503', async (t) => {
  const engine = createImageEngine({ ...options, concurrency: 2 })
  t.teardown(() => engine.close())
  const sources = [new PassThrough(), new PassThrough(), new PassThrough()]
  let openedLazily = false
  const jobs = sources.map((source, i) => engine.generate({
    // The queued job's stream is opened only when it starts.
    source: i < 2 ? source : async () => { openedLazily = true; return source },
    contentType: 'image/jpeg',
    variants
  }))
  await new Promise((resolve) => setImmediate(resolve))
  t.match(engine.stats(), { running: 2, queued: 1 })
  t.equal(openedLazily, false, 'a queued job has not opened its original')

  const extra = new PassThrough()
  const refused = engine.generate({ source: extra, contentType: 'image/jpeg', variants })
  await t.rejects(refused, PreviewBusyError)
  t.equal(((await refused.catch((err: unknown) => err)) as { statusCode: number }).statusCode, 503)
  t.equal(extra.destroyed, true, 'the refused job\'s stream is released')

  // The originals arrive: every job completes, the queued one included.
  const bytes = await photo()
  for (const source of sources) source.end(bytes)
  const outcomes = await Promise.all(jobs)
  t.same(outcomes.map((o) => o.state), ['ready', 'ready', 'ready'])
  t.equal(openedLazily, true)
})

t.test('a job past PREVIEW_TIMEOUT_MS ends failed/timeout, its stream is released, and the engine goes on', async (t) => {
  const engine = createImageEngine({ ...options, concurrency: 1 })
  t.teardown(() => engine.close())
  const stalled = new PassThrough()
  stalled.write((await photo()).subarray(0, 100))
  t.same(await engine.generate({ source: stalled, contentType: 'image/jpeg', variants }, { timeoutMs: 100 }),
    { state: 'failed', reason: 'timeout' })
  t.equal(stalled.destroyed, true, 'the original\'s stream is destroyed')
  const next = await engine.generate({ source: Readable.from([await photo()]), contentType: 'image/jpeg', variants })
  t.equal(next.state, 'ready', 'the next job runs')
  t.match(engine.stats(), { running: 0, queued: 0 })
})

t.test('only the configured sizes are accepted (a size is a stored variant: no open-ended list)', async (t) => {
  const engine = createImageEngine({ ...options, concurrency: 1 })
  t.teardown(() => engine.close())
  await t.rejects(engine.generate({ source: Readable.from([Buffer.alloc(1)]), contentType: 'image/jpeg', variants: [{ size: 321, format: 'webp' }] }), TypeError)
  await t.rejects(engine.generate({ source: Readable.from([Buffer.alloc(1)]), contentType: 'image/jpeg', variants: [] }), TypeError)
})

t.test('the options come from the configuration', async (t) => {
  const config = loadConfig({
    DATABASE_URL: 'postgres://app@db:5432/a',
    REDIS_URL: 'redis://cache:6379',
    S3_BUCKET: 'bucket',
    S3_REGION: 'eu-central-1',
    JWT_SECRET: 'a-secret-of-at-least-thirty-two-chars!',
    PREVIEW_SIZES: '1280, 320',
    PREVIEW_CONCURRENCY: '3'
  })
  t.match(imageEngineOptions(config), {
    sizes: [320, 1280],
    maxFrames: 100,
    maxPixels: 50_000_000,
    maxInputBytes: 26_214_400,
    concurrency: 3,
    queueMax: 100,
    timeoutMs: 20_000
  })
})
