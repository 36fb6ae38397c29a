// Backfill with --scan: legacy objects are scanned by a real clamd in the
// same pass that hashes them; an infected object is reported and not
// imported, a clean one is, and clamd down imports nothing unscanned.
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { createDatabase } from '../../src/db/client.js'
import { runBackfill, type BackfillOptions } from '../../src/jobs/backfill.js'
import { DEFAULT_LEGACY_SCHEMA } from '../../src/jobs/legacy-source.js'
import { createScanner } from '../../src/scan/scanner.js'
import { createS3Storage } from '../../src/storage/s3.js'
import { setup } from '../helper.js'
import { EICAR, EICAR_SIGNATURE, startClamd } from '../support/clamd.js'
import { putLegacyObject } from '../support/legacy.js'
import { zip } from '../support/zip.js'

t.setTimeout(180_000)
const ctx = await setup(t)
const clamd = await startClamd()
t.teardown(() => clamd.close())
const config = loadConfig(ctx.env)
const database = createDatabase(config, { max: 2 })
const storage = createS3Storage(config)
const scanner = createScanner(clamd.scanConfig({ SCAN_TIMEOUT_MS: 3_000 }))!
t.teardown(async () => {
  await database.close()
  storage.destroy()
  await scanner.close()
})

await ctx.sql`CREATE TABLE "ChatDialog" (id text PRIMARY KEY, "userId" text)`
await ctx.sql`CREATE TABLE "ChatMessage" (id text PRIMARY KEY, "dialogId" text NOT NULL, "createdAt" timestamp(3) NOT NULL, attachments jsonb)`
await ctx.sql`INSERT INTO "ChatDialog" VALUES ('dlg-1', 'user-1')`

async function message (id: string, paths: string[]) {
  const attachments = JSON.stringify(paths.map((path, i) => ({ id: `${id}-${i}`, path })))
  await ctx.sql`INSERT INTO "ChatMessage" VALUES (${id}, 'dlg-1', '2024-01-01 10:00:00', ${attachments}::text::jsonb)`
}

async function backfill (after?: string) {
  const report: Array<Parameters<NonNullable<BackfillOptions['onReport']>>[0]> = []
  const summary = await runBackfill({ legacy: ctx.sql, database, databaseUrl: ctx.databaseUrl, storage, scanner }, {
    schema: DEFAULT_LEGACY_SCHEMA, batchSize: 100, concurrency: 2, dryRun: false, ...(after ? { after } : {}), onReport: (line) => report.push(line)
  })
  return { summary, report }
}

t.test('an infected object is reported and not imported; clean ones are', async (t) => {
  await putLegacyObject(ctx.s3, 'legacy/clean.txt', Buffer.from('clean notes'))
  await putLegacyObject(ctx.s3, 'legacy/eicar.com', EICAR)
  await putLegacyObject(ctx.s3, 'legacy/archive.zip', zip('inside.com', EICAR, 'deflate'))
  await message('m-1', ['legacy/clean.txt', 'legacy/eicar.com', 'legacy/archive.zip'])
  const { summary, report } = await backfill()
  t.equal(summary.imported, 1)
  t.same(report.map((line) => [line.path, line.reason]).sort(), [['legacy/archive.zip', 'infected'], ['legacy/eicar.com', 'infected']])
  t.ok(report.every((line) => line.detail?.includes(EICAR_SIGNATURE)), 'the signature is in the report')
  const rows = await ctx.sql`SELECT storage_key FROM chat_attachment ORDER BY storage_key`
  t.same(rows.map((row) => row.storage_key), ['legacy/clean.txt'])
})

t.test('clamd down: nothing is imported unscanned; the entries fail and a later run imports them', async (t) => {
  await putLegacyObject(ctx.s3, 'legacy/later.txt', Buffer.from('to be scanned'))
  await message('m-2', ['legacy/later.txt'])
  await clamd.stop()
  try {
    const { summary, report } = await backfill('m-1')
    t.equal(summary.imported, 0)
    t.equal(summary.failed, 1)
    t.match(report, [{ path: 'legacy/later.txt', reason: 'failed' }])
  } finally {
    await clamd.start()
  }
  const [row] = await ctx.sql`SELECT count(*)::int AS n FROM chat_attachment WHERE storage_key = 'legacy/later.txt'`
  t.equal(row!.n, 0, 'no row for the unscanned object')
  t.equal((await backfill('m-1')).summary.imported, 1, 'imported once clamd is back')
})
