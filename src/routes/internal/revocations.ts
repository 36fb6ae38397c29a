// Revoking browser tokens of a dialog, e.g. when a link was shared by
// mistake or a customer's session must end: from the answer on, this
// instance refuses them; every other instance within REVOCATION_POLL_MS.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Revocation, RevocationRequest } from '../../schemas/audit.js'
import { DialogParams, errorResponses, ref } from '../../schemas/common.js'

const revocationRoutes: FastifyPluginAsyncTypebox = async function revocationRoutes (app) {
  app.post('/dialogs/:dialogId/revocations', {
    schema: {
      operationId: 'revokeTokens',
      tags: ['internal'],
      summary: 'Refuse browser tokens of a dialog issued before a time: its dialog link tokens, and the owner tokens of `sub` when given',
      params: DialogParams,
      body: ref(RevocationRequest),
      response: { 201: ref(Revocation, { description: 'Recorded' }), ...errorResponses(400, 401, 403, 503) }
    }
  }, async (request, reply) => {
    const { dialogId } = request.params
    const { sub, issuedBefore } = request.body
    await app.revocations.add(dialogId, sub, new Date(issuedBefore))
    return reply.code(201).send({ dialogId, sub: sub ?? null, issuedBefore: new Date(issuedBefore).toISOString() })
  })
}

export default revocationRoutes
