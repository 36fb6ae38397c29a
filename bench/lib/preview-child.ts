// The process whose memory bench/previews.ts measures: the image engine with
// the service's defaults, driven over IPC. Reads each original from disk as a
// stream, as it would read it from S3.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { loadConfig } from '../../src/config.js'
import { createImageEngine, imageEngineOptions } from '../../src/images/engine.js'
import type { PreviewVariant } from '../../src/images/generate.js'

export interface Photo { file: string, contentType: string }
export type Request =
  | { id: number, type: 'generate', photos: Photo[], variants: PreviewVariant[] }
  | { id: number, type: 'time', photo: Photo, variants: PreviewVariant[], runs: number }
export interface Reply { id: number, states?: string[], ms?: number[], error?: string }

const config = loadConfig({ ...process.env }, ['PREVIEW_SIZES', 'PREVIEW_MAX_FRAMES', 'IMAGE_MAX_PIXELS', 'ATTACHMENT_MAX_BYTES',
  'PREVIEW_CONCURRENCY', 'PREVIEW_QUEUE_MAX', 'PREVIEW_TIMEOUT_MS'])
const engine = createImageEngine(imageEngineOptions(config))

async function generate (photo: Photo, variants: PreviewVariant[]): Promise<string> {
  const { size } = await stat(photo.file)
  const outcome = await engine.generate({ source: createReadStream(photo.file), contentType: photo.contentType, byteLength: size, variants })
  return outcome.state === 'ready' ? 'ready' : `${outcome.state}/${outcome.reason}`
}

async function handle (request: Request): Promise<Reply> {
  if (request.type === 'generate') {
    return { id: request.id, states: await Promise.all(request.photos.map((photo) => generate(photo, request.variants))) }
  }
  const ms: number[] = []
  const states: string[] = []
  for (let i = 0; i < request.runs; i++) {
    const start = process.hrtime.bigint()
    states.push(await generate(request.photo, request.variants))
    ms.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  return { id: request.id, ms, states }
}

process.on('message', (request: Request) => {
  handle(request).then(
    (reply) => process.send?.(reply),
    (err: unknown) => process.send?.({ id: request.id, error: String(err) })
  )
})
process.on('disconnect', () => { engine.close().finally(() => process.exit(0)) })
process.send?.({ id: 0 })
