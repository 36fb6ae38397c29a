// Who read the attachments of a dialog: the read audit, newest first, in
// pages. The cursor is opaque to the chat app (the last row's time and id).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Static } from 'typebox'
import type { AccessCursor } from '../../db/access-log.js'
import type { AccessRow } from '../../db/schema.js'
import { AccessLogPage, AccessLogQuery, type AccessEvent } from '../../schemas/audit.js'
import { DialogParams, errorResponses, ref } from '../../schemas/common.js'
import { decodeCursor, encodeCursor } from './cursor.js'

const isRowId = (value: unknown): value is number => Number.isSafeInteger(value)

function accessCursor (text: string): AccessCursor {
  const { at, key } = decodeCursor(text, isRowId)
  return { at, id: key }
}

function toEvent (row: AccessRow): Static<typeof AccessEvent> {
  return {
    attachmentId: row.attachmentId,
    variant: row.variant,
    viewer: row.viewer,
    grantedBy: row.grantedBy as Static<typeof AccessEvent>['grantedBy'],
    tokenSource: row.tokenSource as Static<typeof AccessEvent>['tokenSource'],
    status: row.status,
    bytes: row.bytes,
    count: row.count,
    clientHash: row.clientHash,
    at: row.at.toISOString()
  }
}

const accessLogRoutes: FastifyPluginAsyncTypebox = async function accessLogRoutes (app) {
  app.get('/dialogs/:dialogId/access-log', {
    schema: {
      operationId: 'getAccessLog',
      tags: ['internal'],
      summary: 'Who read the attachments of a dialog (read audit), newest first',
      params: DialogParams,
      querystring: AccessLogQuery,
      response: { 200: ref(AccessLogPage, { description: 'One page of reads, newest first' }), ...errorResponses(400, 401, 403, 503) }
    }
  }, async (request) => {
    const { since, until, cursor, limit } = request.query
    const rows = await app.accessLog.page(request.params.dialogId, {
      ...(since ? { since: new Date(since) } : {}),
      ...(until ? { until: new Date(until) } : {}),
      ...(cursor ? { before: accessCursor(cursor) } : {}),
      limit
    })
    return { events: rows.map(toEvent), nextCursor: rows.length === limit ? encodeCursor(rows.at(-1)!.at, rows.at(-1)!.id) : null }
  })
}

export default accessLogRoutes
