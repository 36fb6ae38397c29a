import fastifySwagger, { type SwaggerTransform } from '@fastify/swagger'
import type { FastifySchema } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { INTERNAL_PREFIX, PUBLIC_PREFIX } from '../routes/paths.js'
import { SHARED_SCHEMAS } from '../schemas/index.js'

type Requirements = Array<Record<string, string[]>>

/** The security schemes of the document, by name; routes pick theirs. */
export const SECURITY: Record<'service' | 'browser' | 'none', Requirements> = {
  /** The chat app's service token (scope attachments:write): the internal API. */
  service: [{ serviceToken: [] }],
  /** A browser's user token, in the header, the cookie, or a dialog link token in ?token=. */
  browser: [{ userToken: [] }, { userCookie: [] }, { linkToken: [] }],
  /** Probes: no token. */
  none: []
}

// Collects the TypeBox route schemas into an OpenAPI document, served at
// GET /internal/v1/openapi.json (service token required). The shared schemas
// (those with an $id) are registered here, before any route, so routes
// reference them (schemas/common.ts ref()) and the document lists each once
// under components.schemas by its $id rather than inlining copies.
export default fp<{ config: Pick<Config, 'JWT_COOKIE_NAME' | 'QUERY_TOKEN_MAX_TTL_SECONDS'> }>(async function openapiPlugin (app, { config }) {
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'chat-attachments',
        version: '1',
        description: `Stores and delivers the file attachments of the customer-support chat: the internal API of the main chat app (\`${INTERNAL_PREFIX}\`), browser downloads (\`${PUBLIC_PREFIX}\`) and health probes.`
      },
      // Relative: the document describes the service that serves it.
      servers: [{ url: '/', description: 'This service' }],
      tags: [
        { name: 'internal', description: 'The main chat app, with a service token' },
        { name: 'public', description: 'Browsers, with a user or link token' },
        { name: 'health', description: 'Probes of the orchestrator, without a token' }
      ],
      components: {
        securitySchemes: {
          serviceToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT with the attachments:write scope (README "Tokens")' },
          userToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A user\'s JWT: sub (the owner), scope attachments:read:any (support agents), or dlg (one dialog)' },
          userCookie: { type: 'apiKey', in: 'cookie', name: config.JWT_COOKIE_NAME, description: 'The same user JWT, in a cookie' },
          linkToken: {
            type: 'apiKey',
            in: 'query',
            name: 'token',
            description: `A link token: dlg (this dialog), iat, and exp at most ${config.QUERY_TOKEN_MAX_TTL_SECONDS} s after iat`
          }
        }
      },
      security: SECURITY.service
    },
    // Shared schemas are named by their $id, not def-0, def-1…
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}`
    }
  })
}, { name: 'openapi', fastify: '5.x' })

/**
 * Route config adding to the route's document what no validator or
 * serializer may see: the upload form (read as a stream by the route
 * itself), the binary answers of a download.
 */
export function documentedAs (extra: FastifySchema): { swaggerTransform: SwaggerTransform } {
  return { swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, ...extra }, url }) }
}
