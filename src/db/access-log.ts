// The read audit's table: written in batches (one statement per flush),
// read newest first with a keyset cursor, pruned by the cleanup job.
import { and, desc, eq, gte, lt, lte, or, sql } from 'drizzle-orm'
import type { Db } from './client.js'
import { attachmentAccess, type AccessRow, type NewAccessRow } from './schema.js'

export type AccessLogRepository = ReturnType<typeof createAccessLogRepository>

export interface AccessCursor {
  at: Date
  id: number
}

export function createAccessLogRepository (db: Db) {
  return {
    /** One INSERT for the whole batch. */
    async insertMany (rows: NewAccessRow[]): Promise<void> {
      if (rows.length > 0) await db.insert(attachmentAccess).values(rows)
    },

    /** Newest first; `before` is the cursor of the last row of the previous page. */
    async page (dialogId: string, options: { since?: Date, until?: Date, before?: AccessCursor, limit: number }): Promise<AccessRow[]> {
      const { since, until, before, limit } = options
      return db.select().from(attachmentAccess)
        .where(and(
          eq(attachmentAccess.dialogId, dialogId),
          since ? gte(attachmentAccess.at, since) : undefined,
          until ? lte(attachmentAccess.at, until) : undefined,
          before ? or(lt(attachmentAccess.at, before.at), and(eq(attachmentAccess.at, before.at), lt(attachmentAccess.id, before.id))) : undefined
        ))
        .orderBy(desc(attachmentAccess.at), desc(attachmentAccess.id))
        .limit(limit)
    },

    /** Deletes events older than `before`, at most `limit` at a time; returns how many went. */
    async prune (before: Date, limit: number): Promise<number> {
      const oldest = db.select({ id: attachmentAccess.id }).from(attachmentAccess).where(lt(attachmentAccess.at, before)).limit(limit)
      const removed = await db.delete(attachmentAccess)
        .where(sql`${attachmentAccess.id} = ANY(ARRAY${oldest})`)
        .returning({ id: attachmentAccess.id })
      return removed.length
    }
  }
}
