// Deleting attachments: one, a whole dialog, or every dialog of a customer
// (erasure requests). The protocol lives in domain/delete-attachments.ts,
// shared with the cleanup job; a dialog under legal hold answers 409.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { deleteAttachment, eraseDialog } from '../../domain/delete-attachments.js'
import { eraseOwner } from '../../domain/erase-owner.js'
import { NotFoundError } from '../../errors.js'
import { DialogErased } from '../../schemas/attachment.js'
import { AttachmentParams, DialogParams, errorResponses, ref } from '../../schemas/common.js'
import { OwnerErasure, OwnerParams } from '../../schemas/compliance.js'

const deleteRoutes: FastifyPluginAsyncTypebox = async function deleteRoutes (app) {
  const deps = (log: typeof app.log) => ({
    storage: app.storage, lifecycle: app.lifecycle, policies: app.policies, collections: app.collections, log, keyPrefix: app.config.S3_KEY_PREFIX
  })

  app.delete('/dialogs/:dialogId/attachments/:attachmentId', {
    schema: {
      operationId: 'deleteAttachment',
      tags: ['internal'],
      summary: 'Delete one attachment: its object, then its row. A retry after success is 404; a dialog under legal hold is 409.',
      params: AttachmentParams,
      response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 401, 403, 404, 409, 503) }
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
      summary: 'Erase every attachment of a dialog, and any object stored under the dialog without a row; under legal hold 409 and nothing deleted',
      params: DialogParams,
      response: { 200: ref(DialogErased, { description: 'Erased' }), ...errorResponses(400, 401, 403, 409, 503) }
    }
  }, async (request) => {
    const { dialogId } = request.params
    return { dialogId, deleted: await eraseDialog(deps(request.log), dialogId) }
  })

  app.delete('/owners/:ownerId/attachments', {
    schema: {
      operationId: 'eraseOwnerAttachments',
      tags: ['internal'],
      summary: 'Erase every attachment of every dialog of a customer; dialogs under legal hold are left whole and listed in heldBack',
      params: OwnerParams,
      response: { 200: OwnerErasure, ...errorResponses(400, 401, 403, 503) }
    }
  }, async (request) => {
    const erasure = await eraseOwner(deps(request.log), request.params.ownerId)
    request.log.info({ ownerId: erasure.ownerId, deleted: erasure.deleted, dialogs: erasure.dialogs.length, heldBack: erasure.heldBack.length }, 'owner erased')
    return erasure
  })
}

export default deleteRoutes
