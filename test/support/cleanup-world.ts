// The cleanup job's tests: the real app behind an S3 proxy that can refuse
// deletions, and a `clean` that runs the job against them.
import { runCleanup, type CleanupOptions } from '../../src/jobs/cleanup.js'
import { build, setup, type TestContext } from '../helper.js'
import { startS3Proxy } from './s3-proxy.js'

export const DAY = 24 * 3_600_000

export async function cleanupWorld (t: Parameters<typeof setup>[0]) {
  const ctx: TestContext = await setup(t)
  const proxy = await startS3Proxy(() => ctx.s3.endpoint)
  t.teardown(() => proxy.close())
  const { app } = await build(t, ctx, { S3_ENDPOINT: proxy.endpoint })
  const deps = { database: app.database, databaseUrl: ctx.databaseUrl, storage: app.storage, keyPrefix: 'attachments/' }
  const clean = (options: Partial<CleanupOptions> = {}) =>
    runCleanup(deps, { olderThanMs: DAY, dryRun: false, orphans: false, batchSize: 500, ...options })
  return { ctx, proxy, app, deps, clean }
}
