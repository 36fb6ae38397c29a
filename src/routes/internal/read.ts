import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { previewSizes } from '../../config.js'
import { Type } from 'typebox'
import { NotFoundError } from '../../errors.js'
import { Attachment, MessageAttachments, toAttachmentDto } from '../../schemas/attachment.js'
import { AttachmentParams, DialogParams, errorResponses, ExternalId, ref } from '../../schemas/common.js'

const readRoutes: FastifyPluginAsyncTypebox = async function readRoutes (app) {
  const dto = { previewSizes: previewSizes(app.config) }
  app.get('/dialogs/:dialogId/attachments/:attachmentId', {
    schema: {
      operationId: 'getAttachment',
      tags: ['internal'],
      summary: 'Metadata of one attachment',
      params: AttachmentParams,
      response: { 200: ref(Attachment, { description: 'The attachment' }), ...errorResponses(400, 401, 403, 404, 503) }
    }
  }, async (request) => {
    const { dialogId, attachmentId } = request.params
    const row = await app.attachments.findInDialog(dialogId, attachmentId)
    if (!row) throw new NotFoundError('Attachment not found in this dialog')
    return toAttachmentDto(row, dto)
  })

  app.get('/dialogs/:dialogId/attachments', {
    schema: {
      operationId: 'listMessageAttachments',
      tags: ['internal'],
      summary: 'The attachments of one message, oldest first',
      params: DialogParams,
      querystring: Type.Object({ messageId: ExternalId }),
      response: { 200: ref(MessageAttachments, { description: 'The attachments (none: an empty list)' }), ...errorResponses(400, 401, 403, 503) }
    }
  }, async (request) => {
    const { messageId } = request.query
    const rows = await app.attachments.listByMessage(request.params.dialogId, messageId)
    return { messageId, attachments: rows.map((row) => toAttachmentDto(row, dto)) }
  })
}

export default readRoutes
