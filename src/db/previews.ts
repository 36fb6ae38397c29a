// Queries on attachment_preview and on the image columns of chat_attachment.
// Generation runs under a per-attachment advisory lock held by a transaction
// (holdPreviewLock): the lock goes with the transaction, on the connection
// that took it, and with the session if the process dies, so a generation
// lost with its process is simply redone by the next request.
import { and, eq, inArray, sql } from 'drizzle-orm'
import type { PreviewFormat } from '../images/index.js'
import type { Db } from './client.js'
import type { RowCache } from './row-cache.js'
import { attachmentPreview, chatAttachment, type AttachmentRow, type NewPreviewRow, type PreviewRow } from './schema.js'
import { stringField } from '../fields.js'

/** What a request asks for: WebP, or the fallback (JPEG, or PNG with alpha). */
export type WantedFormat = 'webp' | 'fallback'

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]
export type Queryable = Db | Tx

export type PreviewOutcomeColumns = Pick<AttachmentRow, 'previewState' | 'previewReason'> &
  Partial<Pick<AttachmentRow, 'imageWidth' | 'imageHeight' | 'imageAnimated' | 'imageHasAlpha' | 'imagePlaceholder'>>

export function matchesFormat (format: string, wanted: WantedFormat): boolean {
  return wanted === 'webp' ? format === 'webp' : format === 'jpeg' || format === 'png'
}

export type PreviewRepository = ReturnType<typeof createPreviewRepository>

/** With a row cache, ready previews of cached rows are answered from memory (outside transactions). */
export function createPreviewRepository (db: Db, cache?: RowCache<AttachmentRow, PreviewRow>) {
  return {
    async find (attachmentId: string, size: number, wanted: WantedFormat, on: Queryable = db): Promise<PreviewRow | undefined> {
      const variant = `${size}:${wanted}`
      const useCache = cache && on === db ? cache : undefined
      const cached = useCache?.preview(attachmentId, variant)
      if (cached) return cached
      const token = useCache?.begin()
      const formats: PreviewFormat[] = wanted === 'webp' ? ['webp'] : ['jpeg', 'png']
      const [row] = await on.select().from(attachmentPreview)
        .where(and(eq(attachmentPreview.attachmentId, attachmentId), eq(attachmentPreview.size, size), inArray(attachmentPreview.format, formats)))
        .limit(1)
      if (row && token !== undefined) useCache!.setPreview(attachmentId, variant, row, token)
      return row
    },

    async forAttachment (attachmentId: string, on: Queryable = db): Promise<PreviewRow[]> {
      return on.select().from(attachmentPreview).where(eq(attachmentPreview.attachmentId, attachmentId))
    },

    async insert (rows: NewPreviewRow[], on: Queryable = db): Promise<void> {
      if (rows.length > 0) await on.insert(attachmentPreview).values(rows).onConflictDoNothing()
    },

    /** The preview state and what the decode learnt; a row being deleted is left alone. */
    async setOutcome (attachmentId: string, columns: PreviewOutcomeColumns, on: Queryable = db): Promise<AttachmentRow | undefined> {
      const [row] = await on.update(chatAttachment).set(columns)
        .where(and(eq(chatAttachment.id, attachmentId), sql`${chatAttachment.status} <> 'DELETING'`))
        .returning()
      cache?.evict([attachmentId])
      return row
    },

    /** The current row (state, facts, status) as the lock holder sees it. */
    async attachment (attachmentId: string, on: Queryable = db): Promise<AttachmentRow | undefined> {
      const [row] = await on.select().from(chatAttachment).where(eq(chatAttachment.id, attachmentId)).limit(1)
      return row
    },

    /**
     * Runs `fn` in a transaction holding the attachment's preview lock,
     * waiting at most `waitMs` for it (lock_timeout: Postgres error 55P03).
     */
    async withLock<T> (attachmentId: string, waitMs: number, fn: (tx: Tx) => Promise<T>): Promise<T> {
      return db.transaction(async (tx) => {
        await tx.execute(sql`SELECT set_config('lock_timeout', ${`${Math.max(1, waitMs)}ms`}, true)`)
        await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`chat_attachment:preview:${attachmentId}`}, 0))`)
        // The generation itself may outlast the pool's statement timeout.
        await tx.execute(sql`SELECT set_config('statement_timeout', '0', true)`)
        return fn(tx)
      })
    }
  }
}

/**
 * Holds the preview lock of an attachment until release() is called: for a
 * generation that takes the lock only once its pool slot has started, so a
 * queued job holds no connection.
 */
export function holdPreviewLock (previews: PreviewRepository, attachmentId: string, waitMs: number): Promise<{ tx: Tx, release: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    let finish!: () => void
    const finished = new Promise<void>((resolve) => { finish = resolve })
    let held = false
    const done = previews.withLock(attachmentId, waitMs, async (tx) => {
      held = true
      resolve({ tx, release: async () => { finish(); await done } })
      await finished
    })
    done.catch((err: unknown) => { if (!held) reject(err) })
  })
}

/** Postgres' answer when lock_timeout ran out. */
export function isLockTimeout (err: unknown): boolean {
  return stringField(err, 'code') === '55P03'
}
