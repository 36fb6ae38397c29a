// Queries on chat_attachment. Every state change is a single conditional
// statement, so concurrent requests are resolved by Postgres row locks.
import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm'
import { LinkConflictError, NotFoundError } from '../errors.js'
import type { Db } from './client.js'
import type { RowCache } from './row-cache.js'
import { chatAttachment, type AttachmentRow, type NewAttachmentRow, type PreviewRow } from './schema.js'

export type AttachmentRepository = ReturnType<typeof createAttachmentRepository>

export function createAttachmentRepository (db: Db, cache?: RowCache<AttachmentRow, PreviewRow>) {
  // The browser read path looks rows up by id on every request: built once
  // and prepared (named), so neither drizzle nor Postgres parses or plans it
  // again on a connection that has run it before.
  const byId = db.select().from(chatAttachment).where(eq(chatAttachment.id, sql.placeholder('id'))).limit(1).prepare('chat_attachment_by_id')
  return {
    async insert (row: NewAttachmentRow): Promise<AttachmentRow> {
      const [inserted] = await db.insert(chatAttachment).values(row).returning()
      return inserted!
    },

    /**
     * Any row, whatever its state or dialog (the browser route tells why it
     * refuses); from the row cache when it holds the row and is current.
     */
    async findById (id: string): Promise<AttachmentRow | undefined> {
      const cached = cache?.get(id)
      if (cached) return cached
      const token = cache?.begin()
      const [row] = await byId.execute({ id })
      if (row && token !== undefined) cache!.set(id, row, token)
      return row
    },

    /** A row being deleted no longer exists for readers. */
    async findInDialog (dialogId: string, id: string): Promise<AttachmentRow | undefined> {
      const [row] = await db.select().from(chatAttachment)
        .where(and(eq(chatAttachment.dialogId, dialogId), eq(chatAttachment.id, id), ne(chatAttachment.status, 'DELETING')))
        .limit(1)
      return row
    },

    async listByMessage (dialogId: string, messageId: string): Promise<AttachmentRow[]> {
      return db.select().from(chatAttachment)
        .where(and(eq(chatAttachment.messageId, messageId), eq(chatAttachment.dialogId, dialogId), eq(chatAttachment.status, 'LINKED')))
        .orderBy(asc(chatAttachment.createdAt), asc(chatAttachment.id))
    },

    /**
     * Links staged attachments to a message, all or nothing. Rows are locked
     * in id order first (two overlapping links can never deadlock), then
     * checked, then changed by one conditional UPDATE. Relinking to the same
     * message is a no-op. Throws NotFound (unknown or other dialog) before
     * LinkConflict (linked elsewhere, or not in a linkable state).
     */
    async link (dialogId: string, messageId: string, ids: string[]): Promise<AttachmentRow[]> {
      const wanted = [...new Set(ids)]
      const rows = await db.transaction(async (tx) => {
        const rows = await tx.select().from(chatAttachment)
          .where(and(eq(chatAttachment.dialogId, dialogId), inArray(chatAttachment.id, wanted)))
          .orderBy(asc(chatAttachment.id))
          .for('update')
        const byId = new Map(rows.map((row) => [row.id, row]))
        const missing = wanted.filter((id) => !byId.has(id))
        if (missing.length > 0) throw new NotFoundError(`Attachments not found in this dialog: ${missing.join(', ')}`)

        const alreadyLinked = (row: AttachmentRow) => row.status === 'LINKED' && row.messageId === messageId
        const conflicts = rows.filter((row) => row.status !== 'UPLOADED' && !alreadyLinked(row))
        if (conflicts.length > 0) throw new LinkConflictError(conflicts.map((row) => row.id).join(', '))

        const toLink = rows.filter((row) => row.status === 'UPLOADED').map((row) => row.id)
        if (toLink.length > 0) {
          const linked = await tx.update(chatAttachment)
            .set({ status: 'LINKED', messageId, linkedAt: sql`now()` })
            .where(and(inArray(chatAttachment.id, toLink), eq(chatAttachment.status, 'UPLOADED')))
            .returning()
          // Unreachable while the rows are locked; kept as the invariant's guard.
          if (linked.length !== toLink.length) throw new LinkConflictError(toLink.join(', '))
          for (const row of linked) byId.set(row.id, row)
        }
        return wanted.map((id) => byId.get(id)!)
      })
      cache?.evict(wanted)
      return rows
    }
  }
}
