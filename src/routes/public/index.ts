// The browser API: user tokens, a shared rate limit and defensive headers on
// every answer. Encapsulated, so none of it touches the internal API.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ERROR_CACHE_CONTROL, securityHeaders } from '../../http/security-headers.js'
import { errorBody } from '../../plugins/errors.js'
import rateLimitPlugin from '../../plugins/rate-limit.js'
import { attachmentNotFound } from '../../errors.js'
import archiveRoutes from './archive.js'
import downloadRoutes from './download.js'
import previewRoutes from './preview.js'
import { identify, rateLimitSubject, type Viewer } from './viewer.js'

declare module 'fastify' {
  interface FastifyRequest {
    viewer: Viewer | null
  }
}

const publicRoutes: FastifyPluginAsyncTypebox = async function publicRoutes (app) {
  const config = app.config
  const headers = Object.entries(securityHeaders(config))

  app.decorateRequest('viewer', null)
  // Identify before the rate limit runs: the budget belongs to the token's
  // user, and a request without a valid token is counted by IP alone. A bad
  // token is only answered (401) after it has been counted.
  app.addHook('onRequest', (request, _reply, done) => {
    request.viewer = identify(app, request, config)
    done()
  })
  await app.register(rateLimitPlugin, { config, subject: (request) => rateLimitSubject(request.viewer) })

  // Synchronous: an async hook costs a promise and a microtask turn per answer.
  app.addHook('onSend', (_request, reply, payload, done) => {
    // A 304 leaves the stored response's headers as they are (see
    // sendEntity): the policy sent with the 200 (an inline image's CSP) stays.
    if (reply.statusCode === 304) return done(null, payload)
    for (const [name, value] of headers) {
      // The download route may relax the policy for inline images.
      if (!reply.hasHeader(name)) reply.header(name, value)
    }
    if (reply.statusCode >= 400) reply.header('cache-control', ERROR_CACHE_CONTROL)
    done(null, payload)
  })

  // Unknown paths under /v1 look like any other missing attachment.
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, async (request, reply) => {
    request.log.info({ reason: 'unknown_route' }, 'request rejected')
    app.metrics.http.denials.inc({ reason: 'unknown_route' })
    return reply.code(404).send(errorBody(attachmentNotFound()))
  })

  await app.register(downloadRoutes)
  await app.register(previewRoutes)
  await app.register(archiveRoutes)
}

export default publicRoutes
