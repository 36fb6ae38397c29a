import fastifySwagger from '@fastify/swagger'
import fp from 'fastify-plugin'

// Collects the TypeBox route schemas into an OpenAPI document, served at
// GET /internal/v1/openapi.json (service token required).
export default fp(async function openapiPlugin (app) {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'chat-attachments', version: '1' },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
      },
      security: [{ bearer: [] }]
    }
  })
}, { name: 'openapi', fastify: '5.x' })
