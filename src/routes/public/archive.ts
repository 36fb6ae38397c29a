// GET /v1/attachments/:dialogId/archive — "download all" for browsers: every
// readable attachment of the dialog as one streamed ZIP. The viewer rules of
// a single download apply: the token from header, cookie or ?token= (a link
// token of this dialog), the dialog's owner, a reader of any dialog or a link
// token of this one, revocations, and one indistinguishable 404 for
// everything else (unknown, empty, not yours, revoked). It takes one download
// slot of the viewer and of the instance while it streams; every attachment
// it delivers is recorded in the read audit (variant "archive").
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { attachmentNotFound, invalidToken, missingToken } from '../../errors.js'
import { ID_REGEX } from '../../schemas/common.js'
import { sendArchive } from '../send-archive.js'
import { documentedAs, SECURITY } from '../../plugins/openapi.js'
import { DOWNLOAD_RESPONSES } from './download.js'
import { accessOf } from './audit-access.js'
import { rateLimitSubject, readAccess } from './viewer.js'

const Params = Type.Object({ dialogId: Type.String() })
const Query = Type.Object({
  token: Type.Optional(Type.Unknown({ description: 'A dialog-scoped link token (dlg claim), short-lived' }))
})

// For the document only: the ZIP is streamed, never serialised.
const ARCHIVE_RESPONSES = {
  200: { description: 'application/zip: the files and manifest.json (the last entry)', content: { 'application/zip': { schema: { type: 'string', contentMediaType: 'application/zip' } } } },
  401: DOWNLOAD_RESPONSES[401],
  404: DOWNLOAD_RESPONSES[404],
  429: DOWNLOAD_RESPONSES[429],
  503: DOWNLOAD_RESPONSES[503]
}

const archiveRoutes: FastifyPluginAsyncTypebox = async function archiveRoutes (app) {
  app.get('/attachments/:dialogId/archive', {
    exposeHeadRoute: false,
    config: documentedAs({ response: ARCHIVE_RESPONSES }),
    schema: {
      operationId: 'downloadDialogArchive',
      tags: ['public'],
      security: SECURITY.browser,
      summary: 'Every attachment of a dialog as a ZIP with manifest.json (user token: header, cookie or ?token=)',
      params: Params,
      querystring: Query
    }
  }, async (request, reply) => {
    const viewer = request.viewer
    const claims = viewer?.claims
    if (!claims) throw viewer?.presented ? invalidToken(viewer.refusal) : missingToken()
    const { dialogId } = request.params
    if (!ID_REGEX.test(dialogId)) throw attachmentNotFound('malformed_id')
    const rows = await app.collections.readable({ dialogId })
    // Every row of a dialog has the dialog's owner: the first one decides.
    const first = rows[0]
    if (!first) throw attachmentNotFound('unknown_id')
    const access = readAccess(claims, first)
    if ('denied' in access) throw attachmentNotFound(access.denied)
    if (await app.revocations.revoked(claims, dialogId, first.ownerId)) throw attachmentNotFound('revoked')
    const audit = app.audit
    return sendArchive(app, request, reply, rows, {
      scope: { dialogId },
      folders: false,
      slotKey: rateLimitSubject(viewer) ?? `ip:${request.ip}`,
      fileName: `dialog-${dialogId}.zip`,
      ...(audit ? { onEntry: (row, bytes) => audit.record(accessOf(request, row, access.granted, 'archive'), 200, bytes) } : {})
    })
  })
}

export default archiveRoutes
