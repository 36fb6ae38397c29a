// runBackfill against a legacy schema seeded for real in this file's
// database ("ChatDialog", "ChatMessage" with a jsonb attachments column, and
// more tables for the cursor and edge cases) and real objects under
// legacy/uploads/ in the test bucket. The CLI is in backfill-cli.test.ts.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { createDatabase } from '../../src/db/client.js'
import { runBackfill, type BackfillOptions } from '../../src/jobs/backfill.js'
import { DEFAULT_LEGACY_SCHEMA, LegacySchemaError, type LegacySchema } from '../../src/jobs/legacy-source.js'
import { createS3Storage } from '../../src/storage/s3.js'
import { build, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { objectDigest } from '../support/bucket.js'
import { etagOf, putLegacyObject } from '../support/legacy.js'
import { encodePng } from '../support/png.js'

const ctx = await setup(t)
const config = loadConfig(ctx.env)
const database = createDatabase(config, { max: 2 })
const storage = createS3Storage(config)
t.teardown(async () => {
  await database.close()
  storage.destroy()
})
const deps = { legacy: ctx.sql, database, databaseUrl: ctx.databaseUrl, storage }

type MappingLine = Parameters<NonNullable<BackfillOptions['onMapping']>>[0]
type ReportLine = Parameters<NonNullable<BackfillOptions['onReport']>>[0]

async function backfill (options: Partial<BackfillOptions> = {}) {
  const mapping: MappingLine[] = []
  const report: ReportLine[] = []
  const summary = await runBackfill(deps, {
    schema: DEFAULT_LEGACY_SCHEMA,
    batchSize: 200,
    concurrency: 4,
    dryRun: false,
    ...options,
    onMapping: (line) => mapping.push(line),
    onReport: (line) => report.push(line)
  })
  const order = (a: ReportLine, b: ReportLine) => a.messageId.localeCompare(b.messageId) || (a.index ?? -1) - (b.index ?? -1)
  return { summary, mapping, report: report.sort(order) }
}

async function rowsUnder (prefix: string) {
  return [...await ctx.sql`SELECT * FROM chat_attachment WHERE storage_key LIKE ${prefix + '%'} ORDER BY storage_key`]
}

// Binary that no magic number matches (a NUL early, no known signature).
const binary = Buffer.concat([Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]), randomBytes(5 * 1024 * 1024 + 12_345)])
const png = await putLegacyObject(ctx.s3, 'legacy/uploads/main/photo.png', encodePng(32, 32))
const notes = await putLegacyObject(ctx.s3, 'legacy/uploads/main/notes.txt', Buffer.from('Meeting notes\n- one\n- two\n'))
const big = await putLegacyObject(ctx.s3, 'legacy/uploads/main/big.bin', binary)
await putLegacyObject(ctx.s3, 'legacy/uploads/main/orphan.png', encodePng(2, 2))
await putLegacyObject(ctx.s3, 'legacy/uploads/main/bad-dialog.txt', Buffer.from('x'))
const gone = 'legacy/uploads/main/gone.pdf'

await ctx.sql`CREATE TABLE "ChatDialog" (id text PRIMARY KEY, "userId" text)`
await ctx.sql`CREATE TABLE "ChatMessage" (id text PRIMARY KEY, "dialogId" text NOT NULL, "createdAt" timestamp(3) NOT NULL, attachments jsonb)`
await ctx.sql`INSERT INTO "ChatDialog" VALUES ('dlg-1', 'user-1'), ('dlg-2', 'user-2'), ('dlg 6', 'user-6')`

async function insertMessage (table: string, id: string | number, dialogId: string, createdAt: string, attachments: unknown) {
  await ctx.sql`INSERT INTO ${ctx.sql(table)} (id, "dialogId", "createdAt", attachments)
    VALUES (${id}, ${dialogId}, ${createdAt}, ${attachments === undefined ? null : JSON.stringify(attachments)}::text::jsonb)`
}
await insertMessage('ChatMessage', 'msg-01', 'dlg-1', '2023-05-01 10:00:00.123', [
  { id: 'att-png', path: png.key, name: 'photo.png', fileName: 'ignored.png', mimeType: 'image/jpeg', size: 1 },
  { id: 'att-png-again', path: png.key, name: 'again.png' },
  { id: 'att-no-path', name: 'nowhere.txt' },
  'just a string',
  17
])
await insertMessage('ChatMessage', 'msg-02', 'dlg-1', '2023-05-02 11:12:13.456', [
  { id: 42, storagePath: notes.key, fileName: 'docs/notes\u0007.txt', type: 'text/markdown', size: 999_999 },
  { id: 'att-gone', key: gone, name: 'gone.pdf' }
])
await insertMessage('ChatMessage', 'msg-03', 'dlg-2', '2023-05-03 00:00:00.999', [{ key: big.key }])
await insertMessage('ChatMessage', 'msg-04', 'dlg-missing', '2023-05-04 00:00:00', [{ id: 'att-orphan', path: 'legacy/uploads/main/orphan.png' }])
await insertMessage('ChatMessage', 'msg-05', 'dlg-1', '2023-05-05 00:00:00', { path: png.key })
await insertMessage('ChatMessage', 'msg-06', 'dlg 6', '2023-05-06 00:00:00', [{ id: 'att-bad-dialog', path: 'legacy/uploads/main/bad-dialog.txt' }])
await insertMessage('ChatMessage', 'msg-07', 'dlg-1', '2023-05-07 00:00:00', undefined)
await insertMessage('ChatMessage', 'msg-08', 'dlg-1', '2023-05-08 00:00:00', [])

const good = [
  { object: big, legacyId: null, messageId: 'msg-03', dialogId: 'dlg-2', ownerId: 'user-2', fileName: 'big.bin', declared: null, contentType: 'application/octet-stream', createdAt: '2023-05-03T00:00:00.999Z' },
  { object: notes, legacyId: '42', messageId: 'msg-02', dialogId: 'dlg-1', ownerId: 'user-1', fileName: 'notes.txt', declared: 'text/markdown', contentType: 'text/markdown; charset=utf-8', createdAt: '2023-05-02T11:12:13.456Z' },
  { object: png, legacyId: 'att-png', messageId: 'msg-01', dialogId: 'dlg-1', ownerId: 'user-1', fileName: 'photo.png', declared: 'image/jpeg', contentType: 'image/png', createdAt: '2023-05-01T10:00:00.123Z' }
]
const expectedReport: ReportLine[] = [
  { messageId: 'msg-01', index: 1, reason: 'duplicate_entry', path: png.key },
  { messageId: 'msg-01', index: 2, reason: 'no_path' },
  { messageId: 'msg-01', index: 3, reason: 'malformed_entry' },
  { messageId: 'msg-01', index: 4, reason: 'malformed_entry' },
  { messageId: 'msg-02', index: 1, reason: 'missing_object', path: gone },
  { messageId: 'msg-04', index: 0, reason: 'dialog_missing', path: 'legacy/uploads/main/orphan.png' },
  { messageId: 'msg-05', reason: 'not_an_array' },
  { messageId: 'msg-06', index: 0, reason: 'invalid_dialog_id', path: 'legacy/uploads/main/bad-dialog.txt' }
]
const firstSummary = { dryRun: false, messagesScanned: 7, imported: 3, skipped: 4, missingObjects: 1, malformed: 3, failed: 0, lastCursor: 'msg-08' }

t.test('--dry-run reports what it would import and writes nothing', async (t) => {
  const { summary, mapping, report } = await backfill({ dryRun: true })
  t.same(summary, { ...firstSummary, dryRun: true })
  t.same(report, expectedReport, 'the same skips as a real run')
  t.same(mapping, [], 'no mapping: nothing was imported')
  t.same(await rowsUnder('legacy/uploads/main/'), [], 'no rows')
})

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('imports exactly the good entries as LINKED rows that describe the objects themselves', async (t) => {
  const { summary, mapping, report } = await backfill()
  t.same(summary, firstSummary)
  t.same(report, expectedReport, 'each bad entry reported once, with its reason')

  const rows = await rowsUnder('legacy/uploads/main/')
  t.same(rows.map((row) => row.storage_key), good.map((g) => g.object.key), 'a row for each good entry, none for the others')
  for (const [i, expected] of good.entries()) {
    const row = rows[i]!
    const label = expected.fileName
    const real = await objectDigest(ctx.s3, expected.object.key)
    t.match(row.id, UUID_V4, `${label}: a new random id`)
    if (expected.legacyId !== null) t.not(row.id, expected.legacyId, `${label}: the legacy id is not reused`)
    t.equal(row.legacy_id, expected.legacyId, `${label}: legacy id kept`)
    t.equal(row.status, 'LINKED', `${label}: linked`)
    t.equal(row.message_id, expected.messageId, `${label}: to its message`)
    t.equal(row.dialog_id, expected.dialogId, `${label}: dialog`)
    t.equal(row.owner_id, expected.ownerId, `${label}: owner from the dialog`)
    t.equal(row.uploaded_by, expected.ownerId, `${label}: uploaded_by is the owner`)
    t.equal(row.file_name, expected.fileName, `${label}: sanitised name (name, else fileName, else basename)`)
    t.equal(row.declared_content_type, expected.declared, `${label}: declared type only from the JSON`)
    t.equal(row.content_type, expected.contentType, `${label}: type detected from the bytes`)
    t.equal(Number(row.size_bytes), expected.object.bytes.length, `${label}: size of the object, not the JSON`)
    t.equal(row.sha256, real.sha256, `${label}: SHA-256 of the stored bytes`)
    t.equal(row.sha256, expected.object.sha256, `${label}: SHA-256 of what was put`)
    t.equal(row.etag, etagOf(real.sha256), `${label}: ETag derived from the SHA-256`)
    t.equal((row.last_modified as Date).getTime(), expected.object.lastModified.getTime(), `${label}: Last-Modified of the object`)
    t.equal((row.created_at as Date).toISOString(), expected.createdAt, `${label}: created_at is the message's createdAt`)
    t.equal((row.linked_at as Date).toISOString(), expected.createdAt, `${label}: linked_at is the message's createdAt`)
  }
  t.same(mapping.sort((a, b) => a.storageKey.localeCompare(b.storageKey)), rows.map((row) => ({
    legacyId: row.legacy_id, id: row.id, messageId: row.message_id, dialogId: row.dialog_id, storageKey: row.storage_key
  })), 'one mapping line per imported row: legacyId -> id')
})

t.test('a second run imports nothing and maps every imported entry again', async (t) => {
  const before = await rowsUnder('legacy/uploads/main/')
  const { summary, mapping, report } = await backfill({ concurrency: 1 })
  t.same(summary, { ...firstSummary, imported: 0, skipped: firstSummary.skipped + 3 })
  t.same(await rowsUnder('legacy/uploads/main/'), before, 'rows untouched')
  t.same(report.filter((line) => line.reason === 'already_imported').map((line) => line.path).sort(), good.map((g) => g.object.key).sort())
  t.same(mapping.map((line) => [line.legacyId, line.id]).sort(), before.map((row) => [row.legacy_id, row.id]).sort(), 'the mapping is complete again')
})

t.test('imported attachments download through GET /v1/attachments like uploaded ones', async (t) => {
  const { app } = await build(t, ctx)
  const rows = await rowsUnder('legacy/uploads/main/')
  const get = (dialogId: string, id: string, user: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url: `/v1/attachments/${encodeURIComponent(dialogId)}/${id}`, headers: { authorization: `Bearer ${token({ sub: user })}`, ...headers } })
  for (const expected of good) {
    const row = rows.find((r) => r.storage_key === expected.object.key)!
    const res = await get(expected.dialogId, row.id, expected.ownerId)
    t.equal(res.statusCode, 200, `${expected.fileName}: 200 for the owner`)
    t.ok(res.rawPayload.equals(expected.object.bytes), `${expected.fileName}: the object's bytes`)
    t.equal(res.headers.etag, etagOf(expected.object.sha256), `${expected.fileName}: ETag`)
    t.equal(res.headers['content-type'], expected.contentType, `${expected.fileName}: Content-Type`)
    t.equal(res.headers['last-modified'], expected.object.lastModified.toUTCString(), `${expected.fileName}: Last-Modified`)

    // The same bytes uploaded through the internal API are served the same way.
    const uploaded = await attach(app, expected.dialogId, expected.object.bytes, { ownerId: expected.ownerId, filename: expected.fileName, contentType: expected.declared ?? 'application/octet-stream', messageId: `${expected.messageId}-new` })
    const twin = await get(expected.dialogId, uploaded.id, expected.ownerId)
    for (const header of ['etag', 'content-type', 'content-length', 'content-disposition', 'content-security-policy']) {
      t.equal(res.headers[header], twin.headers[header], `${expected.fileName}: ${header} as for an upload`)
    }
    t.equal((await get(expected.dialogId, row.id, 'someone-else')).statusCode, 404, `${expected.fileName}: not for another user`)
  }
  const bigRow = rows.find((r) => r.storage_key === big.key)!
  const part = await get('dlg-2', bigRow.id, 'user-2', { range: 'bytes=5242880-5242979' })
  t.equal(part.statusCode, 206, 'ranges work on an imported object')
  t.ok(part.rawPayload.equals(big.bytes.subarray(5_242_880, 5_242_980)), 'the requested bytes')
})

t.test('the cursor follows the id column\'s own order (integer ids) and --after resumes', async (t) => {
  await ctx.sql`CREATE TABLE "LegacyIntMessage" (id integer PRIMARY KEY, "dialogId" text NOT NULL, "createdAt" timestamp(3) NOT NULL, attachments jsonb)`
  for (const id of [1, 2, 10, 11]) {
    await putLegacyObject(ctx.s3, `legacy/uploads/int/${id}.txt`, Buffer.from(`message ${id}\n`))
    await insertMessage('LegacyIntMessage', id, 'dlg-1', '2023-06-01 00:00:00', [{ id: `int-${id}`, path: `legacy/uploads/int/${id}.txt` }])
  }
  const schema = { ...DEFAULT_LEGACY_SCHEMA, messagesTable: 'LegacyIntMessage' }
  // In text order "10" < "2": a text cursor would skip 10 and 11.
  const resumed = await backfill({ schema, after: '2', batchSize: 1 })
  t.match(resumed.summary, { imported: 2, messagesScanned: 2, skipped: 0, failed: 0, lastCursor: '11' })
  t.same((await rowsUnder('legacy/uploads/int/')).map((row) => row.message_id), ['10', '11'], 'only messages after 2, across batches of one')

  const done = await backfill({ schema, after: '11', batchSize: 1 })
  t.match(done.summary, { imported: 0, messagesScanned: 0, lastCursor: '11' }, 'resuming from the last cursor finds nothing more')

  const all = await backfill({ schema, batchSize: 1 })
  t.match(all.summary, { imported: 2, messagesScanned: 4, skipped: 2, lastCursor: '11' })
  t.same((await rowsUnder('legacy/uploads/int/')).map((row) => row.message_id), ['1', '10', '11', '2'], 'the earlier ones imported, none twice')

  const text = await backfill({ after: 'msg-03' })
  t.match(text.summary, { messagesScanned: 4, imported: 0, lastCursor: 'msg-08' }, 'text ids resume too (msg-04, -05, -06, -08)')
  t.same([...new Set(text.report.map((line) => line.messageId))], ['msg-04', 'msg-05', 'msg-06'], 'nothing at or before the cursor is read')
})

t.test('a key already imported for another message is reported key_in_use, never imported twice', async (t) => {
  await ctx.sql`CREATE TABLE "LegacySharedMessage" (LIKE "ChatMessage" INCLUDING ALL)`
  const shared = await putLegacyObject(ctx.s3, 'legacy/uploads/shared/logo.png', encodePng(4, 4))
  await insertMessage('LegacySharedMessage', 'share-a', 'dlg-1', '2023-07-01 00:00:00', [{ id: 'logo-a', path: shared.key }])
  await insertMessage('LegacySharedMessage', 'share-b', 'dlg-1', '2023-07-02 00:00:00', [{ id: 'logo-b', path: shared.key }])
  const schema = { ...DEFAULT_LEGACY_SCHEMA, messagesTable: 'LegacySharedMessage' }
  const first = await backfill({ schema })
  const rows = await rowsUnder(shared.key)
  t.equal(rows.length, 1, 'one row for the key')
  const loser = rows[0]!.message_id === 'share-a' ? 'share-b' : 'share-a'
  t.match(first.summary, { imported: 1, skipped: 1 })
  t.same(first.report.map((line) => [line.messageId, line.reason]), [[loser, 'key_in_use']], 'the other message: key_in_use')
  t.same(first.mapping.map((line) => line.messageId), [rows[0]!.message_id], 'mapped once, for the row\'s message')

  const again = await backfill({ schema })
  t.same(again.report.map((line) => [line.messageId, line.reason]).sort(), [[rows[0]!.message_id, 'already_imported'], [loser, 'key_in_use']].sort())
})

t.test('created_at and linked_at keep the exact millisecond of createdAt (float8 epoch rounding)', async (t) => {
  await ctx.sql`CREATE TABLE "LegacyTimeMessage" (LIKE "ChatMessage" INCLUDING ALL)`
  const times = ['2004-08-28 19:04:37.534', '2039-07-22 04:02:11.857', '2023-05-01 10:00:00.123']
  for (const [i, createdAt] of times.entries()) {
    await putLegacyObject(ctx.s3, `legacy/uploads/time/${i}.txt`, Buffer.from(`at ${createdAt}\n`))
    await insertMessage('LegacyTimeMessage', `time-${i}`, 'dlg-1', createdAt, [{ path: `legacy/uploads/time/${i}.txt` }])
  }
  const { summary } = await backfill({ schema: { ...DEFAULT_LEGACY_SCHEMA, messagesTable: 'LegacyTimeMessage' } })
  t.match(summary, { imported: 3, failed: 0 })
  const rows = await rowsUnder('legacy/uploads/time/')
  for (const [i, createdAt] of times.entries()) {
    const expected = `${createdAt.replace(' ', 'T')}Z`
    t.equal((rows[i]!.created_at as Date).toISOString(), expected, `created_at of ${createdAt}`)
    t.equal((rows[i]!.linked_at as Date).toISOString(), expected, `linked_at of ${createdAt}`)
  }
})

t.test('an unknown legacy table or column is a LegacySchemaError naming it, and nothing is imported', async (t) => {
  const count = async () => (await ctx.sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM chat_attachment`)[0]!.n
  const before = await count()
  for (const key of Object.keys(DEFAULT_LEGACY_SCHEMA) as Array<keyof LegacySchema>) {
    const err = await backfill({ schema: { ...DEFAULT_LEGACY_SCHEMA, [key]: 'nope' } }).then(() => undefined, (e: unknown) => e)
    t.type(err, LegacySchemaError, `${key} nope: rejected`)
    t.match((err as Error | undefined)?.message, /nope/, `${key} nope: names it`)
  }
  t.equal(await count(), before, 'nothing imported')
})
