// Previews follow their attachment: both DELETE routes, stale-upload
// cleanup and the orphan sweep remove their objects and rows; backfilled
// images get image facts and previews like uploaded ones.
import sharp from 'sharp'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { createDatabase } from '../../src/db/client.js'
import { runBackfill } from '../../src/jobs/backfill.js'
import { runCleanup } from '../../src/jobs/cleanup.js'
import { DEFAULT_LEGACY_SCHEMA } from '../../src/jobs/legacy-source.js'
import { auth, build, id, setup } from '../helper.js'
import { attach, stage } from '../support/attachments.js'
import { ageObject, listKeys, putObject } from '../support/bucket.js'
import { markerPixels } from '../support/images.js'
import { putLegacyObject } from '../support/legacy.js'
import { imageOf, settledImage } from '../support/previews.js'

t.setTimeout(300_000)

const DAY = 24 * 3600 * 1000
const ctx = await setup(t)
const { app } = await build(t, ctx)
const config = loadConfig(ctx.env)
const database = createDatabase(config, { max: 4 })
t.teardown(() => database.close())
const photo = await sharp(markerPixels(80, 60), { raw: { width: 80, height: 60, channels: 3 } }).jpeg().toBuffer()

async function previewRows (attachmentId: string): Promise<number> {
  const [row] = await ctx.sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM attachment_preview WHERE attachment_id = ${attachmentId}`
  return row!.n
}

async function withPreviews (dialogId: string, link = true) {
  const staged = link
    ? await attach(app, dialogId, photo, { filename: 'p.jpg', contentType: 'image/jpeg' })
    : await stage(app, dialogId, photo, { filename: 'p.jpg', contentType: 'image/jpeg' })
  t.equal((await settledImage(app, dialogId, staged.id)).previews.state, 'ready')
  const key = `attachments/${dialogId}/${staged.id}`
  return { id: staged.id, key }
}

t.test('DELETE of one attachment and of a dialog removes the preview objects and rows', async (t) => {
  const dialogId = id('dlg')
  const one = await withPreviews(dialogId)
  const two = await withPreviews(dialogId)
  t.same((await listKeys(ctx.s3, one.key)).sort(), [one.key, `${one.key}.preview-1280.webp`, `${one.key}.preview-320.webp`], 'original and two previews stored')
  t.equal(await previewRows(one.id), 2)

  const res = await app.inject({ method: 'DELETE', url: `/internal/v1/dialogs/${dialogId}/attachments/${one.id}`, headers: auth() })
  t.equal(res.statusCode, 204)
  t.same(await listKeys(ctx.s3, one.key), [], 'no object of it left')
  t.equal(await previewRows(one.id), 0)
  t.equal((await listKeys(ctx.s3, two.key)).length, 3, 'the other attachment keeps its previews')

  const erase = await app.inject({ method: 'DELETE', url: `/internal/v1/dialogs/${dialogId}/attachments`, headers: auth() })
  t.equal(erase.statusCode, 200)
  t.same(await listKeys(ctx.s3, `attachments/${dialogId}/`), [], 'dialog erased, previews included')
  t.equal(await previewRows(two.id), 0)
})

t.test('stale-upload cleanup takes the previews along; the orphan sweep removes preview objects without a row', async (t) => {
  const dialogId = id('dlg')
  const stale = await withPreviews(dialogId, false)
  const kept = await withPreviews(dialogId)
  await ctx.sql`UPDATE chat_attachment SET created_at = now() - interval '2 days' WHERE id = ${stale.id}`
  const orphan = `attachments/${dialogId}/00000000-0000-4000-8000-000000000000.preview-320.webp`
  await putObject(ctx.s3, orphan, 'RIFF....WEBP')
  for (const key of [orphan, ...await listKeys(ctx.s3, kept.key)]) await ageObject(ctx.s3, key, 2 * DAY)

  const summary = await runCleanup({ database, databaseUrl: ctx.databaseUrl, storage: app.storage, keyPrefix: 'attachments/' },
    { olderThanMs: DAY, dryRun: false, orphans: true, batchSize: 500 })
  t.match(summary, { deleted: 1, orphansDeleted: 1, failed: 0 })
  t.same(await listKeys(ctx.s3, stale.key), [], 'the stale upload and its previews are gone')
  t.equal(await previewRows(stale.id), 0)
  t.same(await listKeys(ctx.s3, orphan), [], 'the orphan preview is gone')
  t.equal((await listKeys(ctx.s3, kept.key)).length, 3, 'previews with a row are no orphans, however old')
})

t.test('a backfilled image gets image facts and previews through the pool', async (t) => {
  const legacy = await putLegacyObject(ctx.s3, 'legacy/uploads/photo.jpg', photo)
  await ctx.sql`CREATE TABLE "ChatDialog" (id text PRIMARY KEY, "userId" text)`
  await ctx.sql`CREATE TABLE "ChatMessage" (id text PRIMARY KEY, "dialogId" text NOT NULL, "createdAt" timestamp(3) NOT NULL, attachments jsonb)`
  await ctx.sql`INSERT INTO "ChatDialog" VALUES ('dlg-legacy', 'user-1')`
  await ctx.sql`INSERT INTO "ChatMessage" VALUES ('msg-1', 'dlg-legacy', '2023-05-01 10:00:00', ${JSON.stringify([{ id: 'a1', path: legacy.key, name: 'photo.jpg' }])}::text::jsonb)`
  const mapping: Array<{ id: string }> = []
  const summary = await runBackfill(
    { legacy: ctx.sql, database, databaseUrl: ctx.databaseUrl, storage: app.storage, images: { maxPixels: config.IMAGE_MAX_PIXELS, previews: app.previews } },
    { schema: DEFAULT_LEGACY_SCHEMA, batchSize: 100, concurrency: 2, dryRun: false, onMapping: (line) => mapping.push(line) })
  t.match(summary, { imported: 1, failed: 0 })
  const image = await imageOf(app, 'dlg-legacy', mapping[0]!.id)
  t.match(image, { width: 80, height: 60, animated: false, previews: { state: 'ready', sizes: [320, 1280] } }, 'ready when the backfill answers')
  t.type(image?.placeholder, 'string')
  t.same((await listKeys(ctx.s3, legacy.key)).sort(), [legacy.key, `${legacy.key}.preview-1280.webp`, `${legacy.key}.preview-320.webp`], 'previews next to the legacy object')
})
