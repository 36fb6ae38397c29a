import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { createRevocations, type Revocations } from '../auth/revocations.js'

declare module 'fastify' {
  interface FastifyInstance {
    revocations: Revocations
  }
}

export default fp<{ config: Config }>(async function revocationsPlugin (app, { config }) {
  const revocations = createRevocations({
    db: app.database.db,
    pollMs: config.REVOCATION_POLL_MS,
    maxStalenessMs: config.REVOCATION_MAX_STALENESS_MS,
    log: app.log
  })
  app.decorate('revocations', revocations)
  // The first read is awaited (briefly) so a fresh instance does not answer
  // 503 to its first requests; Postgres down: it starts anyway and says so.
  await Promise.race([revocations.refresh(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
  app.addHook('onClose', () => revocations.close())
}, { name: 'revocations', fastify: '5.x', dependencies: ['database'] })
