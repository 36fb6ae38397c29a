import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { createAttachmentRepository, type AttachmentRepository } from '../db/attachments.js'
import { createDatabase, type Database } from '../db/client.js'
import { createCollectionRepository, type CollectionRepository } from '../db/collections.js'
import { createLifecycleRepository, type LifecycleRepository } from '../db/lifecycle.js'
import { createPolicyRepository, type PolicyRepository } from '../db/policies.js'
import { createTombstoneRepository, type TombstoneRepository } from '../db/tombstones.js'

declare module 'fastify' {
  interface FastifyInstance {
    database: Database
    attachments: AttachmentRepository
    lifecycle: LifecycleRepository
    policies: PolicyRepository
    tombstones: TombstoneRepository
    collections: CollectionRepository
  }
}

// Connects lazily: the service starts while Postgres is down and readiness
// says so, instead of crash-looping.
export default fp<{ config: Config }>(async function databasePlugin (app, { config }) {
  const database = createDatabase(config, { metrics: app.metrics.postgres })
  app.decorate('database', database)
  app.decorate('attachments', createAttachmentRepository(database.db))
  app.decorate('lifecycle', createLifecycleRepository(database.db))
  app.decorate('policies', createPolicyRepository(database.db))
  app.decorate('tombstones', createTombstoneRepository(database.db))
  app.decorate('collections', createCollectionRepository(database.db))
  app.addHook('onClose', () => database.close())
}, { name: 'database', fastify: '5.x', dependencies: ['metrics'] })
