// Retention and legal hold of a dialog, set by the chat app; enforced by the
// deletion flows (src/domain/delete-attachments.ts) and the cleanup job.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Static } from 'typebox'
import type { Policy as PolicyValue } from '../../db/policies.js'
import { BadRequestError } from '../../errors.js'
import { DialogParams, errorResponses } from '../../schemas/common.js'
import { Policy, PolicyBody } from '../../schemas/compliance.js'

/**
 * The JSON types as sent, checked before validation: the validator coerces
 * types (for query strings), which would read retentionDays 0 (or false) as null
 * ("use the global default") and "30" as 30.
 */
function exactTypes (body: unknown): void {
  if (typeof body !== 'object' || body === null) return
  const { retentionDays, legalHold } = body as Record<string, unknown>
  if (retentionDays !== undefined && retentionDays !== null && !(typeof retentionDays === 'number' && Number.isInteger(retentionDays) && retentionDays >= 1)) {
    throw new BadRequestError('body/retentionDays must be an integer of at least 1, or null')
  }
  if (legalHold !== undefined && typeof legalHold !== 'boolean') throw new BadRequestError('body/legalHold must be a boolean')
}

const policyRoutes: FastifyPluginAsyncTypebox = async function policyRoutes (app) {
  const globalDays = app.config.RETENTION_DAYS ?? null
  const toDto = (dialogId: string, policy: PolicyValue): Static<typeof Policy> => ({
    dialogId,
    retentionDays: policy.retentionDays,
    legalHold: policy.legalHold,
    effectiveRetentionDays: policy.retentionDays ?? globalDays,
    updatedAt: policy.updatedAt?.toISOString() ?? null
  })

  app.get('/dialogs/:dialogId/policy', {
    schema: {
      operationId: 'getDialogPolicy',
      tags: ['internal'],
      summary: 'Retention and legal hold of a dialog (the defaults when never set)',
      params: DialogParams,
      response: { 200: Policy, ...errorResponses(400, 401, 403) }
    }
  }, async (request) => toDto(request.params.dialogId, await app.policies.get(request.params.dialogId)))

  app.put('/dialogs/:dialogId/policy', {
    preValidation: async (request) => exactTypes(request.body),
    schema: {
      operationId: 'setDialogPolicy',
      tags: ['internal'],
      summary: 'Set retention and legal hold of a dialog (replaces the whole policy)',
      params: DialogParams,
      body: PolicyBody,
      response: { 200: Policy, ...errorResponses(400, 401, 403) }
    }
  }, async (request) => {
    const { dialogId } = request.params
    const policy = await app.policies.put(dialogId, request.body)
    request.log.info({ dialogId, retentionDays: policy.retentionDays, legalHold: policy.legalHold }, 'dialog policy set')
    return toDto(dialogId, policy)
  })
}

export default policyRoutes
