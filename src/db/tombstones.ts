// Tombstones of deleted attachments, written by lifecycle.removeClaimed;
// read by support ("what happened to this file"), newest first.
import { and, desc, eq, lt, or } from 'drizzle-orm'
import type { Db } from './client.js'
import { attachmentTombstone, type TombstoneRow } from './schema.js'

export interface TombstoneCursor {
  deletedAt: Date
  attachmentId: string
}

export type TombstoneRepository = ReturnType<typeof createTombstoneRepository>

export function createTombstoneRepository (db: Db) {
  return {
    async find (attachmentId: string): Promise<TombstoneRow | undefined> {
      const [row] = await db.select().from(attachmentTombstone).where(eq(attachmentTombstone.attachmentId, attachmentId))
      return row
    },

    /** Newest first; `before` is the last row of the previous page. */
    async page (dialogId: string, options: { before?: TombstoneCursor, limit: number }): Promise<TombstoneRow[]> {
      const { before, limit } = options
      return db.select().from(attachmentTombstone)
        .where(and(
          eq(attachmentTombstone.dialogId, dialogId),
          before
            ? or(lt(attachmentTombstone.deletedAt, before.deletedAt), and(eq(attachmentTombstone.deletedAt, before.deletedAt), lt(attachmentTombstone.attachmentId, before.attachmentId)))
            : undefined
        ))
        .orderBy(desc(attachmentTombstone.deletedAt), desc(attachmentTombstone.attachmentId))
        .limit(limit)
    }
  }
}
