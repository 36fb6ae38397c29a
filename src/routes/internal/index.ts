// The API of the main chat app: service tokens with the attachments:write
// scope, encapsulated so its hooks and parsers never touch browser routes.
import fastifyEtag from '@fastify/etag'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { invalidToken, insufficientScope, missingToken } from '../../errors.js'
import { bearerToken, hasScope, verifyToken, WRITE_SCOPE } from '../../plugins/auth.js'
import { ANONYMOUS_DISCARD, discardUnreadBody, type DiscardBounds } from '../discard-unread-body.js'
import accessLogRoutes from './access-log.js'
import archiveRoutes from './archive.js'
import deleteRoutes from './delete.js'
import revocationRoutes from './revocations.js'
import linkRoutes from './link.js'
import policyRoutes from './policy.js'
import readRoutes from './read.js'
import tombstoneRoutes from './tombstones.js'
import uploadRoutes, { ENVELOPE_BYTES } from './upload.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller presented a valid service token. */
    authenticated: boolean
  }
}

const internalRoutes: FastifyPluginAsyncTypebox = async function internalRoutes (app) {
  // A refused upload of the chat app (busy, wrong type) is drained up to the
  // largest body it may send, within the body deadline.
  const authenticatedDiscard: DiscardBounds = {
    maxBytes: app.config.ATTACHMENT_MAX_BYTES + ENVELOPE_BYTES,
    maxMs: app.config.HTTP_REQUEST_TIMEOUT_MS
  }
  app.decorateRequest('authenticated', false)
  app.addHook('onRequest', async (request) => {
    const token = bearerToken(request.headers.authorization)
    if (!token) throw missingToken()
    const verified = verifyToken(app, token)
    if ('refusal' in verified) throw invalidToken(verified.refusal)
    if (!hasScope(verified.claims, WRITE_SCOPE)) throw insufficientScope(WRITE_SCOPE)
    request.authenticated = true
  })
  app.addHook('onSend', async (request) => {
    const declared = Number(request.headers['content-length'])
    const trusted = request.authenticated && !(declared > authenticatedDiscard.maxBytes)
    discardUnreadBody(request.raw, trusted ? authenticatedDiscard : ANONYMOUS_DISCARD)
  })

  await app.register(uploadRoutes)
  await app.register(linkRoutes)
  await app.register(deleteRoutes)
  await app.register(accessLogRoutes)
  await app.register(revocationRoutes)
  await app.register(policyRoutes)
  await app.register(tombstoneRoutes)
  await app.register(archiveRoutes)
  // Reads get entity tags and 304s; @fastify/etag hashes the JSON it sends.
  await app.register(async function reads (scope) {
    await scope.register(fastifyEtag)
    await scope.register(readRoutes)
  })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

export default internalRoutes
