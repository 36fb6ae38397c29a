// Queries of the deletion protocol (cleanup job, DELETE routes). A row is
// first claimed (-> DELETING, which no link can pass), then its object is
// deleted, then the row. Rows left in DELETING by a failure or a crash are
// picked up again, so every interruption converges. A claim records why the
// row goes (deletion_reason); deleting the row writes its tombstone in the
// same statement. Claims that delete by age skip dialogs under legal hold.
import { and, asc, eq, gt, inArray, lt, notExists, sql } from 'drizzle-orm'
import type { Db } from './client.js'
import { attachmentPreview, chatAttachment, dialogPolicy } from './schema.js'

export type DeletionReason = 'deleted' | 'erased' | 'retention' | 'stale'

/** A policy row of the attachment's dialog holds it. */
const underHold = () => sql`EXISTS (SELECT 1 FROM ${dialogPolicy} WHERE ${dialogPolicy.dialogId} = ${chatAttachment.dialogId} AND ${dialogPolicy.legalHold})`

/**
 * The LINKED rows past their retention: the dialog's retention_days, else
 * the global default (null: keep for ever), counted from the upload.
 */
const expired = (now: Date, globalDays: number | null) => {
  const days = sql`coalesce((SELECT ${dialogPolicy.retentionDays} FROM ${dialogPolicy} WHERE ${dialogPolicy.dialogId} = ${chatAttachment.dialogId}), ${globalDays}::int)`
  return and(eq(chatAttachment.status, 'LINKED'), sql`${chatAttachment.createdAt} < ${now.toISOString()}::timestamptz - make_interval(days => ${days})`, sql`NOT ${underHold()}`)
}

export interface Claimed {
  id: string
  storageKey: string
  sizeBytes: number
}

const claimedColumns = { id: chatAttachment.id, storageKey: chatAttachment.storageKey, sizeBytes: chatAttachment.sizeBytes }

export type LifecycleRepository = ReturnType<typeof createLifecycleRepository>

/**
 * `changed` hears of every row this process claims or removes, once the
 * statement is done (the row cache forgets them before the answer).
 */
export function createLifecycleRepository (db: Db, changed: (ids: string[]) => void = () => {}) {
  const claimedNow = (rows: Claimed[]) => {
    if (rows.length > 0) changed(rows.map((row) => row.id))
    return rows
  }
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
      return claimOldest(and(eq(chatAttachment.status, 'UPLOADED'), lt(chatAttachment.createdAt, cutoff), sql`NOT ${underHold()}`), 'UPLOADED', 'stale', limit)
    },

    /** Claims up to `limit` LINKED rows past their retention (never under hold), oldest first. */
    async claimExpired (now: Date, globalDays: number | null, limit: number): Promise<Claimed[]> {
      return claimOldest(expired(now, globalDays), 'LINKED', 'retention', limit)
    },

    /** How many rows (and bytes) claims would take: stale staged rows, or rows already DELETING. For a dry run. */
    async measure (what: { staleBefore: Date } | { expiredAt: Date, globalDays: number | null } | 'claimed', limit?: number): Promise<{ count: number, bytes: number }> {
      const where = what === 'claimed'
        ? eq(chatAttachment.status, 'DELETING')
        : 'expiredAt' in what
          ? expired(what.expiredAt, what.globalDays)
          : and(eq(chatAttachment.status, 'UPLOADED'), lt(chatAttachment.createdAt, what.staleBefore), sql`NOT ${underHold()}`)
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

    /**
     * Claims the rows of one dialog, or one attachment of it, whatever their
     * state, unless the dialog is under legal hold (then nothing). A row
     * already DELETING keeps the reason of its first claim.
     */
    async claimInDialog (dialogId: string, reason: 'deleted' | 'erased', attachmentId?: string): Promise<Claimed[]> {
      return claimedNow(await db.update(chatAttachment)
        .set({ status: 'DELETING', deletionReason: sql`coalesce(${chatAttachment.deletionReason}, ${reason}::deletion_reason)` })
        .where(and(
          eq(chatAttachment.dialogId, dialogId),
          attachmentId ? eq(chatAttachment.id, attachmentId) : undefined,
          notExists(db.select({ one: sql`1` }).from(dialogPolicy).where(and(eq(dialogPolicy.dialogId, dialogId), eq(dialogPolicy.legalHold, true))))
        ))
        .returning(claimedColumns))
    },

    /**
     * Deletes claimed rows whose objects are gone and writes their
     * tombstones, in one statement; returns how many went.
     */
    async removeClaimed (ids: string[]): Promise<number> {
      if (ids.length === 0) return 0
      const [result] = await db.execute<{ removed: number }>(sql`
        WITH gone AS (
          DELETE FROM chat_attachment WHERE id = ANY(${`{${ids.join(',')}}`}::uuid[]) AND status = 'DELETING'
          RETURNING id, dialog_id, owner_id, message_id, coalesce(deletion_reason, 'deleted') AS reason
        ), stones AS (
          INSERT INTO attachment_tombstone (attachment_id, dialog_id, owner_id, message_id, reason)
          SELECT id, dialog_id, owner_id, message_id, reason FROM gone
          ON CONFLICT (attachment_id) DO NOTHING
        )
        SELECT count(*)::int AS removed FROM gone`)
      changed(ids)
      return result?.removed ?? 0
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
    }
  }

  /** The claim of staged and expired rows: oldest first, SKIP LOCKED, collected once (see claimStale). */
  async function claimOldest (where: ReturnType<typeof and>, from: 'UPLOADED' | 'LINKED', reason: DeletionReason, limit: number): Promise<Claimed[]> {
    const candidates = db.select({ id: chatAttachment.id }).from(chatAttachment)
      .where(where)
      .orderBy(asc(chatAttachment.createdAt))
      .limit(limit)
      .for('update', { skipLocked: true })
    return claimedNow(await db.update(chatAttachment)
      .set({ status: 'DELETING', deletionReason: reason })
      .where(and(sql`${chatAttachment.id} = ANY(ARRAY${candidates})`, eq(chatAttachment.status, from)))
      .returning(claimedColumns))
  }
}
