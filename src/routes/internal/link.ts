import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { LinkBody, MessageAttachments, toAttachmentDto } from '../../schemas/attachment.js'
import { DialogParams, errorResponses } from '../../schemas/common.js'

const linkRoutes: FastifyPluginAsyncTypebox = async function linkRoutes (app) {
  app.post('/dialogs/:dialogId/attachments/link', {
    config: { metrics: 'link' },
    schema: {
      tags: ['internal'],
      summary: 'Link staged attachments to a message (all or nothing; idempotent)',
      params: DialogParams,
      body: LinkBody,
      response: { 200: MessageAttachments, ...errorResponses(400, 401, 403, 404, 409) }
    }
  }, async (request) => {
    const { messageId, attachmentIds } = request.body
    const rows = await app.attachments.link(request.params.dialogId, messageId, attachmentIds)
    return { messageId, attachments: rows.map(toAttachmentDto) }
  })
}

export default linkRoutes
