import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { createAttachmentRepository, type AttachmentRepository } from '../db/attachments.js'
import { createDatabase, type Database } from '../db/client.js'
import { createCollectionRepository, type CollectionRepository } from '../db/collections.js'
import { createLifecycleRepository, type LifecycleRepository } from '../db/lifecycle.js'
import { createPolicyRepository, type PolicyRepository } from '../db/policies.js'
import { createRowCache, type RowCache } from '../db/row-cache.js'
import type { AttachmentRow, PreviewRow } from '../db/schema.js'
import { createTombstoneRepository, type TombstoneRepository } from '../db/tombstones.js'

declare module 'fastify' {
  interface FastifyInstance {
    database: Database
    /** Undefined when ROW_CACHE_MAX_ENTRIES is 0. */
    rowCache: RowCache<AttachmentRow, PreviewRow> | undefined
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
  const metrics = app.metrics.rowCache
  const rowCache = config.ROW_CACHE_MAX_ENTRIES > 0
    ? createRowCache<AttachmentRow, PreviewRow>({
      sql: database.sql,
      maxEntries: config.ROW_CACHE_MAX_ENTRIES,
      maxStalenessMs: config.ROW_CACHE_MAX_STALENESS_MS,
      maxBodyBytes: config.BODY_CACHE_MAX_BYTES,
      log: app.log,
      stats: {
        hit: () => metrics.lookups.inc({ outcome: 'hit' }),
        miss: () => metrics.lookups.inc({ outcome: 'miss' }),
        stale: () => metrics.lookups.inc({ outcome: 'stale' }),
        invalidated: (count) => metrics.invalidations.inc(count),
        body: (outcome) => metrics.bodies.inc({ outcome }),
        bodyBytes: (total) => metrics.bodyBytes.set(total)
      }
    })
    : undefined
  app.decorate('database', database)
  app.decorate('rowCache', rowCache)
  app.decorate('attachments', createAttachmentRepository(database.db, rowCache))
  app.decorate('lifecycle', createLifecycleRepository(database.db, (ids) => rowCache?.evict(ids)))
  app.decorate('policies', createPolicyRepository(database.db))
  app.decorate('tombstones', createTombstoneRepository(database.db))
  app.decorate('collections', createCollectionRepository(database.db))
  app.addHook('onClose', async () => {
    await rowCache?.close()
    await database.close()
  })
}, { name: 'database', fastify: '5.x', dependencies: ['metrics'] })
