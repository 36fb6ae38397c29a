// "Send me everything you hold": the attachments of a dialog, or of every
// dialog of a customer, as one ZIP streamed as it is built, with a
// manifest.json (src/domain/archive.ts). Attachments being deleted are left out.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { DialogParams, errorResponses } from '../../schemas/common.js'
import { OwnerParams } from '../../schemas/compliance.js'
import { sendArchive } from '../send-archive.js'

const Zip = Type.Unsafe<unknown>({ type: 'string', format: 'binary', description: 'application/zip: the files and manifest.json (the last entry)' })

const archiveRoutes: FastifyPluginAsyncTypebox = async function archiveRoutes (app) {
  // One slot budget for the chat app's archives, apart from browsers'.
  const slotKey = 'service:archives'

  app.get('/dialogs/:dialogId/archive', {
    exposeHeadRoute: false,
    schema: {
      operationId: 'getDialogArchive',
      tags: ['internal'],
      summary: 'Every attachment of a dialog as a streamed ZIP with manifest.json (empty dialog: just the manifest)',
      params: DialogParams,
      response: { 200: Zip, ...errorResponses(400, 401, 403, 429, 503) }
    }
  }, async (request, reply) => {
    const { dialogId } = request.params
    const rows = await app.collections.readable({ dialogId })
    return sendArchive(app, request, reply, rows, { scope: { dialogId }, folders: false, slotKey, fileName: `dialog-${dialogId}.zip` })
  })

  app.get('/owners/:ownerId/export', {
    exposeHeadRoute: false,
    schema: {
      operationId: 'exportOwnerAttachments',
      tags: ['internal'],
      summary: 'Every attachment of every dialog of a customer as a streamed ZIP, one folder per dialog, with manifest.json',
      params: OwnerParams,
      response: { 200: Zip, ...errorResponses(400, 401, 403, 429, 503) }
    }
  }, async (request, reply) => {
    const { ownerId } = request.params
    const rows = await app.collections.readable({ ownerId })
    return sendArchive(app, request, reply, rows, { scope: { ownerId }, folders: true, slotKey, fileName: `export-${ownerId}.zip` })
  })
}

export default archiveRoutes
