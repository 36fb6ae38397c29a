import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { observeS3, readObserver } from '../metrics/s3.js'
import { createS3Storage, type S3Storage } from '../storage/s3.js'

declare module 'fastify' {
  interface FastifyInstance {
    storage: S3Storage
  }
}

export default fp<{ config: Config }>(async function storagePlugin (app, { config }) {
  const storage = createS3Storage(config, {
    observe: readObserver(app.metrics.s3),
    onClient: (client) => observeS3(client, app.metrics.s3)
  })
  app.decorate('storage', storage)
  app.addHook('onClose', () => storage.destroy())
}, { name: 'storage', fastify: '5.x', dependencies: ['metrics'] })
