// Reading the main app's legacy attachments: messages with an `attachments`
// JSON array, joined to their dialog for the owner. Table and column names
// are options (their defaults match the main app's schema); they are always
// quoted as identifiers, never spliced in as text.
import type postgres from 'postgres'

export interface LegacySchema {
  messagesTable: string
  dialogsTable: string
  messageId: string
  messageDialogId: string
  messageCreatedAt: string
  attachments: string
  dialogId: string
  dialogOwner: string
}

export const DEFAULT_LEGACY_SCHEMA: LegacySchema = {
  messagesTable: 'ChatMessage',
  dialogsTable: 'ChatDialog',
  messageId: 'id',
  messageDialogId: 'dialogId',
  messageCreatedAt: 'createdAt',
  attachments: 'attachments',
  dialogId: 'id',
  dialogOwner: 'userId'
}

export interface LegacyMessage {
  id: string
  dialogId: string
  /** null when the dialog row is missing. */
  ownerId: string | null
  createdAt: Date
  /** The JSON as text, exactly as stored. */
  attachments: string
}

export interface LegacyEntry {
  index: number
  path?: string
  name?: string
  legacyId?: string
  declaredType?: string
}

export type ParsedAttachments =
  | { ok: true, entries: LegacyEntry[], malformedEntries: number[] }
  | { ok: false, reason: 'malformed_json' | 'not_an_array' }

export class LegacySchemaError extends Error {}

/**
 * Checks that every configured table and column exists, and returns the
 * message id's SQL type, so the cursor compares in the column's own order.
 */
export async function checkLegacySchema (sql: postgres.Sql, schema: LegacySchema): Promise<{ idType: string }> {
  const columns: Array<[string, string]> = [
    [schema.messagesTable, schema.messageId], [schema.messagesTable, schema.messageDialogId],
    [schema.messagesTable, schema.messageCreatedAt], [schema.messagesTable, schema.attachments],
    [schema.dialogsTable, schema.dialogId], [schema.dialogsTable, schema.dialogOwner]
  ]
  const types = await Promise.all(columns.map(([table, column]) => columnType(sql, table, column)))
  return { idType: types[0]! }
}

/** Yields the messages after `after`, in id order, a batch at a time. */
export async function * readLegacyMessages (sql: postgres.Sql, schema: LegacySchema, options: { after?: string, batchSize: number }): AsyncGenerator<LegacyMessage[]> {
  const { idType } = await checkLegacySchema(sql, schema)
  const m = {
    table: sql(schema.messagesTable),
    id: sql(schema.messageId),
    dialogId: sql(schema.messageDialogId),
    createdAt: sql(schema.messageCreatedAt),
    attachments: sql(schema.attachments)
  }
  let after = options.after
  for (;;) {
    const rows = await sql<Array<{ id: string, dialog_id: string, owner_id: string | null, created_ms: number, attachments: string }>>`
      SELECT m.${m.id}::text AS id, m.${m.dialogId}::text AS dialog_id, d.${sql(schema.dialogOwner)}::text AS owner_id,
             floor(extract(epoch FROM m.${m.createdAt}) * 1000)::float8 AS created_ms, m.${m.attachments}::text AS attachments
        FROM ${m.table} m
        LEFT JOIN ${sql(schema.dialogsTable)} d ON d.${sql(schema.dialogId)} = m.${m.dialogId}
       WHERE m.${m.attachments} IS NOT NULL
         ${after === undefined ? sql`` : sql`AND m.${m.id} > ${after}::${sql.unsafe(idType)}`}
       ORDER BY m.${m.id}
       LIMIT ${options.batchSize}`
    if (rows.length === 0) return
    yield rows.map((row) => ({ id: row.id, dialogId: row.dialog_id, ownerId: row.owner_id, createdAt: new Date(row.created_ms), attachments: row.attachments }))
    after = rows.at(-1)!.id
  }
}

/** The SQL type of a column; a LegacySchemaError when it does not exist. */
async function columnType (sql: postgres.Sql, table: string, column: string): Promise<string> {
  const qualified = table.split('.').map((part) => `"${part.replaceAll('"', '""')}"`).join('.')
  const [row] = await sql<Array<{ type: string }>>`
    SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
     WHERE attrelid = to_regclass(${qualified}) AND attname = ${column} AND NOT attisdropped`
  if (!row) throw new LegacySchemaError(`no column ${column} in table ${table}`)
  return row.type
}

const firstString = (entry: Record<string, unknown>, keys: string[]): string | undefined => {
  for (const key of keys) {
    const value = entry[key]
    if (typeof value === 'string' && value !== '') return value
    if (typeof value === 'number' && key === 'id') return String(value)
  }
  return undefined
}

export function parseAttachments (raw: string): ParsedAttachments {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    return { ok: false, reason: 'malformed_json' }
  }
  if (!Array.isArray(value)) return { ok: false, reason: 'not_an_array' }
  const entries: LegacyEntry[] = []
  const malformedEntries: number[] = []
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      malformedEntries.push(index)
      return
    }
    const entry = item as Record<string, unknown>
    const path = firstString(entry, ['path', 'storagePath', 'key'])
    const name = firstString(entry, ['name', 'fileName'])
    const legacyId = firstString(entry, ['id'])
    const declaredType = firstString(entry, ['type', 'mimeType', 'contentType'])
    entries.push({ index, ...(path ? { path } : {}), ...(name ? { name } : {}), ...(legacyId ? { legacyId } : {}), ...(declaredType ? { declaredType } : {}) })
  })
  return { ok: true, entries, malformedEntries }
}
