// What happened to the deleted attachments of a dialog, newest first, for
// support ("where did this file go"). The cursor is opaque to the chat app.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { TombstoneCursor } from '../../db/tombstones.js'
import { DialogParams, errorResponses } from '../../schemas/common.js'
import { TombstonePage, TombstoneQuery } from '../../schemas/compliance.js'
import { decodeCursor, encodeCursor } from './cursor.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value)

function tombstoneCursor (text: string): TombstoneCursor {
  const { at, key } = decodeCursor(text, isUuid)
  return { deletedAt: at, attachmentId: key }
}

const tombstoneRoutes: FastifyPluginAsyncTypebox = async function tombstoneRoutes (app) {
  app.get('/dialogs/:dialogId/tombstones', {
    schema: {
      operationId: 'listTombstones',
      tags: ['internal'],
      summary: 'Deleted attachments of a dialog: when and why (deleted, erased, retention, stale), newest first',
      params: DialogParams,
      querystring: TombstoneQuery,
      response: { 200: TombstonePage, ...errorResponses(400, 401, 403) }
    }
  }, async (request) => {
    const { cursor, limit } = request.query
    const rows = await app.tombstones.page(request.params.dialogId, { ...(cursor ? { before: tombstoneCursor(cursor) } : {}), limit })
    return {
      tombstones: rows.map((row) => ({ ...row, deletedAt: row.deletedAt.toISOString() })),
      nextCursor: rows.length === limit ? encodeCursor(rows.at(-1)!.deletedAt, rows.at(-1)!.attachmentId) : null
    }
  })
}

export default tombstoneRoutes
