// The image engine (one bounded pool per process) and the preview service
// on top of it. Closed before the database: queued generations are dropped
// (they stay pending and are made on request), running ones finish.
import fp from 'fastify-plugin'
import { previewSizes, type Config } from '../config.js'
import { createPreviewRepository, type PreviewRepository } from '../db/previews.js'
import { createPreviewService, type PreviewService } from '../domain/previews.js'
import { createImageEngine, imageEngineOptions, type ImageEngine } from '../images/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    images: ImageEngine
    previews: PreviewService
    previewRows: PreviewRepository
  }
}

export default fp<{ config: Config }>(async function imagesPlugin (app, { config }) {
  const images = createImageEngine(imageEngineOptions(config))
  const previewRows = createPreviewRepository(app.database.db, app.rowCache)
  const previews = createPreviewService({
    previews: previewRows,
    storage: app.storage,
    images,
    log: app.log,
    sizes: previewSizes(config),
    lockWaitMs: config.PREVIEW_WAIT_MS
  })
  app.decorate('images', images)
  app.decorate('previews', previews)
  app.decorate('previewRows', previewRows)
  app.addHook('onClose', async () => {
    await images.close()
    await previews.close()
  })
}, { name: 'images', fastify: '5.x', dependencies: ['database', 'storage'] })
