// Attachments taken as a set: every dialog of a customer (erasure, export),
// every readable attachment of a dialog or a customer (archives).
import { and, asc, eq, ne, sql } from 'drizzle-orm'
import type { Db } from './client.js'
import { chatAttachment, type AttachmentRow } from './schema.js'

export type CollectionRepository = ReturnType<typeof createCollectionRepository>

export function createCollectionRepository (db: Db) {
  return {
    /** The dialogs holding attachments of this owner, with how many each holds (any state). */
    async dialogsOfOwner (ownerId: string): Promise<Array<{ dialogId: string, attachments: number }>> {
      return db.select({ dialogId: chatAttachment.dialogId, attachments: sql<number>`count(*)::int` })
        .from(chatAttachment)
        .where(eq(chatAttachment.ownerId, ownerId))
        .groupBy(chatAttachment.dialogId)
        .orderBy(asc(chatAttachment.dialogId))
    },

    /**
     * Readable attachments (not being deleted), in dialog then upload order:
     * of one dialog, or of every dialog of one owner. The rows are small
     * (no bytes), so a whole export's list is held for its manifest.
     */
    async readable (scope: { dialogId: string } | { ownerId: string }): Promise<AttachmentRow[]> {
      return db.select().from(chatAttachment)
        .where(and(
          'dialogId' in scope ? eq(chatAttachment.dialogId, scope.dialogId) : eq(chatAttachment.ownerId, scope.ownerId),
          ne(chatAttachment.status, 'DELETING')
        ))
        .orderBy(asc(chatAttachment.dialogId), asc(chatAttachment.createdAt), asc(chatAttachment.id))
    }
  }
}
