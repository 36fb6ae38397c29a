// Queries of the deletion protocol (cleanup job, DELETE routes). A row is
// first claimed (-> DELETING, which no link can pass), then its object is
// deleted, then the row. Rows left in DELETING by a failure or a crash are
// picked up again, so every interruption converges.
import { and, asc, eq, gt, inArray, lt, sql } from 'drizzle-orm'
import type { Db } from './client.js'
import { attachmentPreview, chatAttachment } from './schema.js'

export interface Claimed {
  id: string
  storageKey: string
  sizeBytes: number
}

const claimedColumns = { id: chatAttachment.id, storageKey: chatAttachment.storageKey, sizeBytes: chatAttachment.sizeBytes }

export type LifecycleRepository = ReturnType<typeof createLifecycleRepository>

export function createLifecycleRepository (db: Db) {
  return {
    /**
     * Claims up to `limit` staged rows created before `cutoff`, oldest first.
     * SKIP LOCKED passes over rows a link is changing right now; the link
     * wins those, and a claimed row fails any later link with 409.
     * The candidates are collected once into an array: as `id IN (SELECT ...
     * LIMIT n FOR UPDATE SKIP LOCKED)` the planner may pick a nested-loop
     * semi-join that rescans the subquery per row and claims them all.
     */
    async claimStale (cutoff: Date, limit: number): Promise<Claimed[]> {
      const candidates = db.select({ id: chatAttachment.id }).from(chatAttachment)
        .where(and(eq(chatAttachment.status, 'UPLOADED'), lt(chatAttachment.createdAt, cutoff)))
        .orderBy(asc(chatAttachment.createdAt))
        .limit(limit)
        .for('update', { skipLocked: true })
      return db.update(chatAttachment)
        .set({ status: 'DELETING' })
        .where(and(sql`${chatAttachment.id} = ANY(ARRAY${candidates})`, eq(chatAttachment.status, 'UPLOADED')))
        .returning(claimedColumns)
    },

    /** How many rows (and bytes) claims would take: stale staged rows, or rows already DELETING. For a dry run. */
    async measure (what: { staleBefore: Date } | 'claimed', limit?: number): Promise<{ count: number, bytes: number }> {
      const where = what === 'claimed'
        ? eq(chatAttachment.status, 'DELETING')
        : and(eq(chatAttachment.status, 'UPLOADED'), lt(chatAttachment.createdAt, what.staleBefore))
      const query = db.select({ size: chatAttachment.sizeBytes }).from(chatAttachment).where(where).orderBy(asc(chatAttachment.createdAt))
      const rows = (limit === undefined ? query : query.limit(limit)).as('rows')
      const [totals] = await db.select({ count: sql<number>`count(*)::int`, bytes: sql<number>`coalesce(sum(${rows.size}), 0)::float8` }).from(rows)
      return totals ?? { count: 0, bytes: 0 }
    },

    /** Rows some earlier run or request left in DELETING, in id order after `afterId`. */
    async findClaimed (afterId: string | undefined, limit: number): Promise<Claimed[]> {
      return db.select(claimedColumns).from(chatAttachment)
        .where(and(eq(chatAttachment.status, 'DELETING'), afterId ? gt(chatAttachment.id, afterId) : undefined))
        .orderBy(asc(chatAttachment.id))
        .limit(limit)
    },

    /** Claims the rows of one dialog, or one attachment of it, whatever their state. */
    async claimInDialog (dialogId: string, attachmentId?: string): Promise<Claimed[]> {
      return db.update(chatAttachment)
        .set({ status: 'DELETING' })
        .where(and(eq(chatAttachment.dialogId, dialogId), attachmentId ? eq(chatAttachment.id, attachmentId) : undefined))
        .returning(claimedColumns)
    },

    /** Deletes claimed rows whose objects are gone; returns how many went. */
    async removeClaimed (ids: string[]): Promise<number> {
      if (ids.length === 0) return 0
      const removed = await db.delete(chatAttachment)
        .where(and(inArray(chatAttachment.id, ids), eq(chatAttachment.status, 'DELETING')))
        .returning({ id: chatAttachment.id })
      return removed.length
    },

    /** The subset of keys that some row points at: an original's or a preview's. */
    async keysWithRows (keys: string[]): Promise<Set<string>> {
      if (keys.length === 0) return new Set()
      const rows = await db.select({ key: chatAttachment.storageKey }).from(chatAttachment)
        .where(inArray(chatAttachment.storageKey, keys))
        .union(db.select({ key: attachmentPreview.storageKey }).from(attachmentPreview).where(inArray(attachmentPreview.storageKey, keys)))
      return new Set(rows.map((row) => row.key))
    },

    /** The preview objects of attachments (deleted with them; their rows go by cascade). */
    async previewKeys (ids: string[]): Promise<Array<{ attachmentId: string, key: string }>> {
      if (ids.length === 0) return []
      return db.select({ attachmentId: attachmentPreview.attachmentId, key: attachmentPreview.storageKey }).from(attachmentPreview)
        .where(inArray(attachmentPreview.attachmentId, ids))
    },

  }
}
