// Deleting attachments: one, or a whole dialog (erasure requests). The
// protocol lives in domain/delete-attachments.ts, shared with the cleanup job.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { deleteAttachment, eraseDialog } from '../../domain/delete-attachments.js'
import { NotFoundError } from '../../errors.js'
import { DialogErased } from '../../schemas/attachment.js'
import { AttachmentParams, DialogParams, errorResponses, ref } from '../../schemas/common.js'

const deleteRoutes: FastifyPluginAsyncTypebox = async function deleteRoutes (app) {
  const deps = (log: typeof app.log) => ({ storage: app.storage, lifecycle: app.lifecycle, log, keyPrefix: app.config.S3_KEY_PREFIX })

  app.delete('/dialogs/:dialogId/attachments/:attachmentId', {
    schema: {
      operationId: 'deleteAttachment',
      tags: ['internal'],
      summary: 'Delete one attachment: its object, then its row. A retry after success is 404.',
      params: AttachmentParams,
      response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 401, 403, 404, 503) }
    }
  }, async (request, reply) => {
    const { dialogId, attachmentId } = request.params
    if (!await deleteAttachment(deps(request.log), dialogId, attachmentId)) throw new NotFoundError('Attachment not found in this dialog')
    return reply.code(204).send(null)
  })

  app.delete('/dialogs/:dialogId/attachments', {
    schema: {
      operationId: 'deleteDialogAttachments',
      tags: ['internal'],
      summary: 'Erase every attachment of a dialog, and any object stored under the dialog without a row',
      params: DialogParams,
      response: { 200: ref(DialogErased, { description: 'Erased' }), ...errorResponses(400, 401, 403, 503) }
    }
  }, async (request) => {
    const { dialogId } = request.params
    return { dialogId, deleted: await eraseDialog(deps(request.log), dialogId) }
  })
}

export default deleteRoutes
