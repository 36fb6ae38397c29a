// The read audit's table: written in batches (one statement per flush),
// read newest first with a keyset cursor, pruned by the cleanup job.
import { and, desc, eq, gte, lt, lte, or, sql } from 'drizzle-orm'
import type { Db } from './client.js'
import { attachmentAccess, type AccessRow, type NewAccessRow } from './schema.js'

export type AccessLogRepository = ReturnType<typeof createAccessLogRepository>

/** One access as the recorder keeps it: its time in epoch milliseconds, no Date per read. */
export type AccessEvent = Omit<NewAccessRow, 'id' | 'at'> & { at: number }

/** An event as written: one JSON array per row, in the INSERT's column order. */
export type EncodedEvent = [
  attachmentId: string, dialogId: string, variant: string, viewer: string, grantedBy: string, tokenSource: string,
  status: number, bytes: number, count: number, clientHash: string | null, at: number
]

export function encodeEvent (row: AccessEvent): EncodedEvent {
  return [
    row.attachmentId, row.dialogId, row.variant, row.viewer, row.grantedBy, row.tokenSource,
    row.status, row.bytes, row.count ?? 1, row.clientHash ?? null, row.at
  ]
}

/** The rows of a batch that could not be written, back from its JSON text (for the next write). */
export function parseEncoded (json: string): EncodedEvent[] {
  const rows: unknown = JSON.parse(json)
  return Array.isArray(rows) ? rows : []
}

export interface AccessCursor {
  at: Date
  id: number
}

export function createAccessLogRepository (db: Db) {
  return {
    /**
     * One INSERT for the whole batch, the rows sent as one JSON parameter
     * (a JSON array of EncodedEvent arrays, read by jsonb_array_elements): a
     * statement with a parameter per value cost the hot path more CPU, in
     * drizzle's query building, than the reads it records (thousands of rows
     * a second under load). The caller encodes: the recorder holds only this
     * text while the write is in flight, not an object per row.
     */
    async insertEncoded (json: string): Promise<void> {
      await db.execute(sql`
        INSERT INTO attachment_access (attachment_id, dialog_id, variant, viewer, granted_by, token_source, status, bytes, count, client_hash, at)
        SELECT (r->>0)::uuid, r->>1, r->>2, r->>3, r->>4, r->>5, (r->>6)::int, (r->>7)::bigint, (r->>8)::int, r->>9, to_timestamp((r->>10)::float8 / 1000)
        FROM jsonb_array_elements(${json}::jsonb) AS r`)
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
