// Who read the attachments of a dialog: the read audit, newest first, in
// pages. The cursor is opaque to the chat app (the last row's time and id).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import type { AccessCursor } from '../../db/access-log.js'
import type { AccessRow } from '../../db/schema.js'
import { DialogParams, errorResponses } from '../../schemas/common.js'
import { decodeCursor, encodeCursor } from './cursor.js'

const isRowId = (value: unknown): value is number => Number.isSafeInteger(value)

const AccessEvent = Type.Object({
  attachmentId: Type.String({ format: 'uuid' }),
  variant: Type.String({ description: '"original", or "preview:<size>:<format>"' }),
  viewer: Type.String({ description: 'The token\'s sub, or "dlg:<dialog>" for a dialog link token' }),
  grantedBy: Type.Enum(['owner', 'read_any', 'dialog_link']),
  tokenSource: Type.Enum(['header', 'cookie', 'query']),
  status: Type.Integer({ description: '200, 206, or 304 for a counted row' }),
  bytes: Type.Integer({ minimum: 0 }),
  count: Type.Integer({ minimum: 1, description: '1, or the number of 304s gathered in one row' }),
  clientHash: Type.Union([Type.String(), Type.Null()], { description: 'HMAC of the client address (AUDIT_IP_SALT); null when not recorded' }),
  at: Type.String({ format: 'date-time' })
})

const AccessLogPage = Type.Object({
  events: Type.Array(AccessEvent),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as ?cursor= for the next (older) page; null on the last page' })
})

const AccessLogQuery = Type.Object({
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 })
}, { additionalProperties: false })

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
      tags: ['internal'],
      summary: 'Who read the attachments of a dialog (read audit), newest first',
      params: DialogParams,
      querystring: AccessLogQuery,
      response: { 200: AccessLogPage, ...errorResponses(400, 401, 403) }
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
