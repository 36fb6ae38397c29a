// The service's OpenAPI document, exactly as GET /internal/v1/openapi.json
// serves it, without running any dependency: the app is built with
// placeholder settings and never connects (Postgres and S3 connect lazily,
// the rate limit counts in memory). Defaults shape the document (the cookie
// name, the link token's lifetime), as a deployment without overrides sees it.
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'

const PLACEHOLDERS = {
  DATABASE_URL: 'postgres://127.0.0.1:1/openapi-document',
  S3_BUCKET: 'openapi-document',
  S3_REGION: 'us-east-1',
  JWT_SECRET: 'openapi-document-placeholder-key-never-verifies',
  RATE_LIMIT_STORE: 'memory',
  AUDIT_ENABLED: 'false',
  REVOCATION_MAX_STALENESS_MS: '60000',
  LOG_LEVEL: 'silent',
  // The metrics listener opens when the app is ready: on a free loopback
  // port, so that two documents built at once (the test files of the
  // document and of the client's types run side by side) never collide.
  METRICS_PORT: '0',
  METRICS_HOST: '127.0.0.1'
}

export async function openapiDocument (): Promise<Record<string, unknown>> {
  const app = buildApp({ config: loadConfig(PLACEHOLDERS) })
  try {
    await app.ready()
    return structuredClone(app.swagger()) as unknown as Record<string, unknown>
  } finally {
    await app.close()
  }
}
