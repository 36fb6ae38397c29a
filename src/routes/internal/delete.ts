// Deleting attachments: one, or a whole dialog (erasure requests). Same
// protocol as the cleanup job: claim the rows (-> DELETING: unreadable,
// unlinkable), delete the objects, then the rows. When storage fails, the
// rows stay DELETING and the answer is 503: a retry, or the next cleanup
// run, finishes the job.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Claimed } from '../../db/lifecycle.js'
import { NotFoundError, UnavailableError } from '../../errors.js'
import { AttachmentParams, DialogParams, errorResponses, ExternalId } from '../../schemas/common.js'

const deleteRoutes: FastifyPluginAsyncTypebox = async function deleteRoutes (app) {
  const prefix = app.config.S3_KEY_PREFIX

  /** Deletes the objects, then the rows of those that are gone. */
  async function remove (claimed: Claimed[], extraKeys: string[] = []): Promise<number> {
    const { deleted, failed } = await app.storage.deleteMany([...claimed.map((row) => row.storageKey), ...extraKeys])
    const gone = new Set(deleted)
    const removed = await app.lifecycle.removeClaimed(claimed.filter((row) => gone.has(row.storageKey)).map((row) => row.id))
    if (failed.length > 0) {
      app.log.error({ failed: failed.slice(0, 10), count: failed.length }, 'objects could not be deleted; their rows stay DELETING')
      throw new UnavailableError('Storage')
    }
    return removed
  }

  app.delete('/dialogs/:dialogId/attachments/:attachmentId', {
    schema: {
      tags: ['internal'],
      summary: 'Delete one attachment: its object, then its row. A retry after success is 404.',
      params: AttachmentParams,
      response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 503) }
    }
  }, async (request, reply) => {
    const { dialogId, attachmentId } = request.params
    const claimed = await app.lifecycle.claimInDialog(dialogId, attachmentId)
    if (claimed.length === 0) throw new NotFoundError('Attachment not found in this dialog')
    await remove(claimed)
    return reply.code(204).send(null)
  })

  app.delete('/dialogs/:dialogId/attachments', {
    schema: {
      tags: ['internal'],
      summary: 'Erase every attachment of a dialog, and any object stored under the dialog without a row',
      params: DialogParams,
      response: { 200: Type.Object({ dialogId: ExternalId, deleted: Type.Integer({ minimum: 0 }) }), ...errorResponses(400, 401, 403, 503) }
    }
  }, async (request) => {
    const { dialogId } = request.params
    const claimed = await app.lifecycle.claimInDialog(dialogId)
    // Objects under the dialog's prefix without a row (an upload that died
    // before its row was written) hold the dialog's data too.
    const known = new Set(claimed.map((row) => row.storageKey))
    const strays: string[] = []
    for await (const object of app.storage.list({ prefix: `${prefix}${dialogId}/` })) {
      if (!known.has(object.key)) strays.push(object.key)
    }
    return { dialogId, deleted: await remove(claimed, strays) }
  })
}

export default deleteRoutes
