import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { previewSizes } from '../../config.js'
import { LinkRequest, MessageAttachments, toAttachmentDto } from '../../schemas/attachment.js'
import { DialogParams, errorResponses, ref } from '../../schemas/common.js'

const linkRoutes: FastifyPluginAsyncTypebox = async function linkRoutes (app) {
  const dto = { previewSizes: previewSizes(app.config) }
  app.post('/dialogs/:dialogId/attachments/link', {
    schema: {
      operationId: 'linkAttachments',
      tags: ['internal'],
      summary: 'Link staged attachments to a message (all or nothing; idempotent)',
      params: DialogParams,
      body: ref(LinkRequest),
      response: { 200: ref(MessageAttachments, { description: 'Linked, in request order' }), ...errorResponses(400, 401, 403, 404, 409, 503) }
    }
  }, async (request) => {
    const { messageId, attachmentIds } = request.body
    const rows = await app.attachments.link(request.params.dialogId, messageId, attachmentIds)
    return { messageId, attachments: rows.map((row) => toAttachmentDto(row, dto)) }
  })
}

export default linkRoutes
