// Making previews, written once for the upload (in the background, right
// after the row is written), the preview route (on demand, when a preview
// is not there yet) and the backfill job.
//
// At most one generation per (attachment, size, format) in the cluster:
// 1. Requests of one instance for the same preview share one promise.
// 2. A generation takes the attachment's advisory lock only once its pool
//    slot has started (a queued job holds no connection), then looks again:
//    what another instance made meanwhile is not made twice; a row gone,
//    being deleted, or without previews ends the job.
// 3. Objects are written first, then their rows and the attachment's facts,
//    in the lock's transaction. A process that dies anywhere in between
//    leaves no row (the next request makes it again) and at worst an object
//    without a row, which the cleanup job's orphan sweep removes.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import { holdPreviewLock, matchesFormat, type PreviewRepository, type WantedFormat } from '../db/previews.js'
import type { AttachmentRow, NewPreviewRow, PreviewRow } from '../db/schema.js'
import type { ImageEngine, Preview, PreviewVariant } from '../images/index.js'
import { previewKey } from '../storage/keys.js'
import type { ObjectStorage } from '../storage/storage.js'
import { strongEtag } from '../upload/stage.js'

export interface PreviewServiceOptions {
  previews: PreviewRepository
  storage: ObjectStorage
  images: ImageEngine
  log: Pick<FastifyBaseLogger, 'warn'>
  /** PREVIEW_SIZES */
  sizes: readonly number[]
  /** Longest wait for another generation of the same attachment (PREVIEW_WAIT_MS). */
  lockWaitMs: number
}

/** A preview to stream, or why there is none. */
export type Ensured = { preview: PreviewRow } | { state: 'none' | 'failed' | 'pending', reason: string | null }

export type PreviewService = ReturnType<typeof createPreviewService>

/** Thrown inside a job to end it without work: done elsewhere, or nothing to do. */
class Settled extends Error {}

interface Held { tx: Parameters<Parameters<PreviewRepository['withLock']>[2]>[0], release: () => Promise<void> }

export function createPreviewService (options: PreviewServiceOptions) {
  const { previews, storage, images, log } = options
  const inFlight = new Map<string, Promise<Ensured>>()
  const background = new Set<Promise<void>>()
  let closed = false

  const wanted = (variant: PreviewVariant): WantedFormat => (variant.format === 'webp' ? 'webp' : 'fallback')
  const has = (rows: PreviewRow[], variant: PreviewVariant) =>
    rows.some((row) => row.size === variant.size && matchesFormat(row.format, wanted(variant)))

  /** One generation of the variants of `row` that do not exist yet. */
  async function produce (row: AttachmentRow, variants: PreviewVariant[]): Promise<void> {
    const held: { lock?: Held } = {}
    try {
      const outcome = await images.generate({
        contentType: row.contentType,
        byteLength: row.sizeBytes,
        variants,
        placeholder: true,
        source: async (signal) => {
          const lock = await holdPreviewLock(previews, row.id, options.lockWaitMs)
          // The job timed out while waiting for the lock: nobody will release it but us.
          if (signal.aborted) {
            await lock.release()
            throw new Settled()
          }
          held.lock = lock
          const current = await previews.attachment(row.id, lock.tx)
          if (!current || current.status === 'DELETING' || current.previewState === 'none' || current.previewState === 'failed') throw new Settled()
          const existing = await previews.forAttachment(row.id, lock.tx)
          if (variants.every((variant) => has(existing, variant))) throw new Settled()
          return (await storage.get(current.storageKey, { signal })).body
        }
      })
      const lock = held.lock
      if (!lock) return
      if (outcome.state !== 'ready') {
        await previews.setOutcome(row.id, { previewState: outcome.state, previewReason: outcome.reason }, lock.tx)
        return
      }
      const existing = await previews.forAttachment(row.id, lock.tx)
      const fresh = outcome.previews.filter((preview) => !existing.some((row) => row.size === preview.size && row.format === preview.format))
      const rows = await store(row, fresh)
      try {
        await previews.insert(rows, lock.tx)
      } catch (err) {
        // The attachment went meanwhile (its row is deleted): so do these objects.
        await storage.deleteMany(rows.map((row) => row.storageKey)).catch(() => {})
        throw err
      }
      const { facts } = outcome
      await previews.setOutcome(row.id, {
        previewState: 'ready',
        previewReason: null,
        imageWidth: facts.width,
        imageHeight: facts.height,
        imageAnimated: facts.animated,
        imageHasAlpha: facts.hasAlpha,
        imagePlaceholder: outcome.placeholder
      }, lock.tx)
    } catch (err) {
      if (!(err instanceof Settled)) throw err
    } finally {
      await held.lock?.release()
    }
  }

  async function store (row: AttachmentRow, fresh: Preview[]): Promise<NewPreviewRow[]> {
    const rows: NewPreviewRow[] = []
    for (const preview of fresh) {
      const key = previewKey(row.storageKey, preview.size, preview.format)
      await storage.put(key, Readable.from([preview.data]), { contentType: preview.contentType })
      rows.push({
        attachmentId: row.id,
        size: preview.size,
        format: preview.format,
        storageKey: key,
        contentType: preview.contentType,
        width: preview.width,
        height: preview.height,
        sizeBytes: preview.byteLength,
        etag: strongEtag(createHash('sha256').update(preview.data).digest('hex'))
      })
    }
    return rows
  }

  /** What there is after a generation: the preview, or the attachment's state. */
  async function lookup (attachmentId: string, size: number, format: WantedFormat): Promise<Ensured> {
    const preview = await previews.find(attachmentId, size, format)
    if (preview) return { preview }
    const row = await previews.attachment(attachmentId)
    if (!row || row.status === 'DELETING') return { state: 'none', reason: null }
    const state = row.previewState ?? 'none'
    // Ready, yet not this one: it could not be made now (the route answers 503).
    return { state: state === 'ready' ? 'pending' : state, reason: row.previewReason }
  }

  return {
    /** The stored preview of a size and format, made now when it is missing (waiting for a generation in progress). */
    ensure (row: AttachmentRow, size: number, format: WantedFormat): Promise<Ensured> {
      const key = `${row.id}:${size}:${format}`
      let pending = inFlight.get(key)
      if (!pending) {
        pending = produce(row, [{ size, format }])
          .then(() => lookup(row.id, size, format))
          .finally(() => inFlight.delete(key))
        // A request that stopped waiting leaves the generation running; its failure is its waiters' to see.
        pending.catch(() => {})
        inFlight.set(key, pending)
      }
      return pending
    },

    /** Starts the previews of a new image in the background; failures are logged, never thrown. */
    schedule (row: AttachmentRow): void {
      if (closed || row.previewState !== 'pending') return
      const job: Promise<void> = produce(row, options.sizes.map((size) => ({ size, format: 'webp' as const })))
        .catch((err: unknown) => {
          // Busy or failed: the state stays pending, and the first request makes it.
          log.warn({ err, attachmentId: row.id }, 'background preview generation did not complete; it will be made on request')
        })
        .finally(() => background.delete(job))
      background.add(job)
    },

    /** Generates the previews of an attachment now (the backfill job), waiting for it. */
    async generateAll (row: AttachmentRow): Promise<void> {
      if (row.previewState !== 'pending') return
      await produce(row, options.sizes.map((size) => ({ size, format: 'webp' as const })))
    },

    stats: () => ({ background: background.size, inFlight: inFlight.size }),

    /** Waits for background generations (call after the engine is closed: queued ones are dropped). */
    async close (): Promise<void> {
      closed = true
      await Promise.allSettled([...background])
    }
  }
}
