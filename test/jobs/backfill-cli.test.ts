// The backfill CLI as a real process: exit codes, the one JSON summary line
// on stdout, the mapping and report files, every table/column flag (a legacy
// schema with other names and a TEXT attachments column holding malformed
// JSON), LEGACY_DATABASE_URL, the lock, and a forced S3 outage. Every run
// must exit by itself (no hanging handles).
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { createTestDatabase, setup } from '../helper.js'
import { createTempDir } from '../support/leftovers.js'
import { putLegacyObject, readNdjson, runBackfillCli, type CliResult } from '../support/legacy.js'
import { encodePng } from '../support/png.js'

// About 20 CLI processes of a second of CPU or more each: almost 5 minutes
// on a shared 2-core machine under load.
t.setTimeout(600_000)

const ctx = await setup(t)
const dir = await createTempDir(t, 'backfill-cli')

/** Asserts the process exited by itself with code, and printed exactly one JSON line; returns it. */
function finished (t: Test, res: CliResult, code: number): Record<string, unknown> {
  t.equal(res.signal, null, 'exited by itself')
  t.equal(res.code, code, `exit code ${code}${res.code === code ? '' : `: ${res.stderr}`}`)
  const lines = res.stdout.split('\n').filter((line) => line !== '')
  t.equal(lines.length, 1, 'exactly one line on stdout')
  t.ok(res.stdout.endsWith('\n'), 'a complete line')
  return JSON.parse(lines.at(-1) ?? 'null') as Record<string, unknown>
}

const rows = async (prefix: string) =>
  [...await ctx.sql`SELECT id, legacy_id, message_id, dialog_id, storage_key, status FROM chat_attachment WHERE storage_key LIKE ${prefix + '%'} ORDER BY storage_key`]

// A legacy schema under other names: every table/column flag, TEXT JSON.
await ctx.sql`CREATE TABLE legacy_dialogs (dialog_pk text PRIMARY KEY, owner text)`
await ctx.sql`CREATE TABLE legacy_messages (msg_id text PRIMARY KEY, dialog text NOT NULL, sent_at timestamptz NOT NULL, files text)`
await ctx.sql`INSERT INTO legacy_dialogs VALUES ('d-1', 'u-1'), ('d-2', 'u-2')`
const png = await putLegacyObject(ctx.s3, 'legacy/uploads/cli/report.png', encodePng(8, 8))
const notes = await putLegacyObject(ctx.s3, 'legacy/uploads/cli/notes.txt', Buffer.from('plain notes\n'))
const big = await putLegacyObject(ctx.s3, 'legacy/uploads/cli/big.bin', Buffer.concat([Buffer.from([0, 1, 2, 3]), randomBytes(5 * 1024 * 1024 + 1)]))
const messages: Array<[string, string, string]> = [
  ['a-01', 'd-1', JSON.stringify([{ id: 'L1', path: png.key, name: 'report.png' }])],
  ['a-02', 'd-1', JSON.stringify([{ id: 'L2', path: 'legacy/uploads/cli/gone.txt' }])],
  ['a-03', 'd-1', '[{"id":"L3","path":'],
  // Double-encoded: a JSON string holding an array.
  ['a-04', 'd-1', JSON.stringify(JSON.stringify([{ path: notes.key }]))],
  ['a-05', 'd-1', JSON.stringify([{ id: 'L5', storagePath: notes.key, fileName: 'notes.txt' }, { id: 'L5b', name: 'no-path.txt' }])],
  ['b-01', 'd-2', JSON.stringify([{ id: 'L6', key: big.key }])]
]
for (const [id, dialog, files] of messages) {
  await ctx.sql`INSERT INTO legacy_messages VALUES (${id}, ${dialog}, '2023-01-01T00:00:00Z', ${files})`
}
const SCHEMA_FLAGS: Record<string, string> = {
  'messages-table': 'legacy_messages',
  'dialogs-table': 'legacy_dialogs',
  'message-id-column': 'msg_id',
  'message-dialog-column': 'dialog',
  'message-created-column': 'sent_at',
  'attachments-column': 'files',
  'dialog-id-column': 'dialog_pk',
  'dialog-owner-column': 'owner'
}
const schemaArgs = (flags = SCHEMA_FLAGS) => Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, value])
const mappingFile = join(dir, 'mapping.ndjson')
const reportFile = join(dir, 'report.ndjson')
const files = ['--mapping-file', mappingFile, '--report-file', reportFile]

t.test('exit 2 for bad flags and configuration, before anything is read', async (t) => {
  // Runs that read nothing cannot disturb each other: started together.
  const cases = [
    ['unknown flag', ['--nope'], /nope/],
    ['--batch-size 0', ['--batch-size', '0'], /--batch-size must be an integer/],
    ['--concurrency abc', ['--concurrency', 'abc'], /--concurrency must be an integer/],
    ['a table name that is no identifier', ['--messages-table', 'x;drop'], /--messages-table must be an identifier/]
  ] as const
  const [results, missingBucket] = await Promise.all([
    Promise.all(cases.map(([, args]) => runBackfillCli([...args], ctx.env))),
    runBackfillCli([], { ...ctx.env, S3_BUCKET: undefined })
  ])
  cases.forEach(([label, , message], i) => {
    const res = results[i]!
    t.equal(res.signal, null, `${label}: exited by itself`)
    t.equal(res.code, 2, `${label}: exit 2`)
    t.match(res.stderr, message, `${label}: says why`)
  })
  t.equal(missingBucket.code, 2, 'missing S3_BUCKET: exit 2')
  t.match(missingBucket.stderr, /S3_BUCKET/, 'names the variable')
})

t.test('exit 2 for an unknown legacy table or column, importing nothing', async (t) => {
  // One table and one column; that every name is checked is shown in
  // process by backfill.test.ts, and the runs below use all eight flags.
  for (const flag of ['messages-table', 'dialog-owner-column']) {
    const res = await runBackfillCli(schemaArgs({ ...SCHEMA_FLAGS, [flag]: 'nope' }), ctx.env)
    t.equal(res.signal, null, `--${flag} nope: exited by itself`)
    t.equal(res.code, 2, `--${flag} nope: exit 2${res.code === 2 ? '' : ` (got ${res.code}: ${res.stdout.trim()})`}`)
    t.match(res.stderr, /nope/, `--${flag} nope: names it`)
  }
  t.same(await rows(''), [], 'nothing imported')
})

t.test('exit 2 for a --mapping-file or --report-file that cannot be written, importing nothing', async (t) => {
  const unwritable = join(dir, 'no-such-dir', 'out.ndjson')
  const flags = ['--mapping-file', '--report-file']
  // Both stop before the lock is taken: started together.
  const results = await Promise.all(flags.map((flag) => runBackfillCli([flag, unwritable, ...schemaArgs()], ctx.env)))
  flags.forEach((flag, i) => {
    const res = results[i]!
    t.equal(res.signal, null, `${flag}: exited by itself`)
    t.equal(res.code, 2, `${flag}: exit 2 (bad flag)`)
    t.match(res.stderr, unwritable, `${flag}: names the path`)
    t.notMatch(res.stderr, /Unhandled 'error' event/, `${flag}: a message, not a crash`)
  })
  t.same(await rows(''), [], 'nothing imported')
})

const reasons = (lines: Array<Record<string, unknown>>) => lines.map((line) => `${line.messageId}:${line.index ?? '-'}:${line.reason}`).sort()
const expectedSkips = ['a-02:0:missing_object', 'a-03:-:malformed_json', 'a-04:-:not_an_array', 'a-05:1:no_path']

t.test('--dry-run: exit 0, the summary and the report, but no rows and no mapping file', async (t) => {
  const summary = finished(t, await runBackfillCli(['--dry-run', ...files, ...schemaArgs()], ctx.env), 0)
  t.same(summary, { dryRun: true, messagesScanned: 6, imported: 3, skipped: 1, missingObjects: 1, malformed: 2, failed: 0, lastCursor: 'b-01' })
  t.same(reasons(await readNdjson(reportFile)), expectedSkips, 'every skip reported with its reason')
  t.same(await rows(''), [], 'no rows')
  await t.rejects(stat(mappingFile), { code: 'ENOENT' }, 'no mapping file')
})

t.test('--after resumes: only the later messages are imported', async (t) => {
  const summary = finished(t, await runBackfillCli(['--after', 'a-03', ...files, ...schemaArgs()], ctx.env), 0)
  t.same(summary, { dryRun: false, messagesScanned: 3, imported: 2, skipped: 1, missingObjects: 0, malformed: 1, failed: 0, lastCursor: 'b-01' })
  t.same((await rows('')).map((row) => row.message_id), ['b-01', 'a-05'], 'a-05 and b-01 only (by key: big.bin, notes.txt)')
  t.same(reasons(await readNdjson(reportFile)), ['a-04:-:not_an_array', 'a-05:1:no_path'])
})

t.test('a full run imports the rest; the mapping file maps every legacy id to its row', async (t) => {
  const summary = finished(t, await runBackfillCli([...files, ...schemaArgs()], ctx.env), 0)
  t.same(summary, { dryRun: false, messagesScanned: 6, imported: 1, skipped: 3, missingObjects: 1, malformed: 2, failed: 0, lastCursor: 'b-01' })
  const imported = await rows('')
  t.same(imported.map((row) => [row.message_id, row.legacy_id, row.status]), [['b-01', 'L6', 'LINKED'], ['a-05', 'L5', 'LINKED'], ['a-01', 'L1', 'LINKED']])
  const expectedMapping = imported.map((row) => ({ legacyId: row.legacy_id, id: row.id, messageId: row.message_id, dialogId: row.dialog_id, storageKey: row.storage_key }))
  const byKey = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.storageKey).localeCompare(String(b.storageKey))
  t.same((await readNdjson(mappingFile)).sort(byKey), expectedMapping.sort(byKey), 'new and already imported entries, once each')
  t.same(reasons(await readNdjson(reportFile)), [...expectedSkips, 'a-05:0:already_imported', 'b-01:0:already_imported'].sort())

  t.test('a second run imports nothing and rewrites the same complete mapping', async (t) => {
    const again = finished(t, await runBackfillCli([...files, ...schemaArgs()], ctx.env), 0)
    t.match(again, { imported: 0, skipped: 4, failed: 0, messagesScanned: 6 })
    t.same(await rows(''), imported, 'rows unchanged')
    t.same((await readNdjson(mappingFile)).sort(byKey), expectedMapping, 'overwritten, not appended')
  })
})

t.test('LEGACY_DATABASE_URL: the legacy tables are read from that database', async (t) => {
  const other = await createTestDatabase(t)
  await other.sql`CREATE TABLE "ChatDialog" (id text PRIMARY KEY, "userId" text)`
  await other.sql`CREATE TABLE "ChatMessage" (id text PRIMARY KEY, "dialogId" text, "createdAt" timestamp(3), attachments jsonb)`
  await other.sql`INSERT INTO "ChatDialog" VALUES ('ext-d', 'ext-u')`
  const object = await putLegacyObject(ctx.s3, 'legacy/uploads/ext/a.txt', Buffer.from('from the main app\n'))
  await other.sql`INSERT INTO "ChatMessage" VALUES ('ext-1', 'ext-d', '2023-02-02 02:02:02.202', ${JSON.stringify([{ id: 'E1', path: object.key }])}::text::jsonb)`
  const summary = finished(t, await runBackfillCli([], { ...ctx.env, LEGACY_DATABASE_URL: other.url }), 0)
  t.match(summary, { imported: 1, messagesScanned: 1, lastCursor: 'ext-1' })
  t.same((await rows('legacy/uploads/ext/')).map((row) => [row.message_id, row.legacy_id, row.dialog_id]), [['ext-1', 'E1', 'ext-d']])
  t.same(await other.sql`SELECT id FROM chat_attachment`, [], 'rows go to DATABASE_URL, not the legacy database')
})

// The default tables, in the service's own database, for the lock and S3 tests.
await ctx.sql`CREATE TABLE "ChatDialog" (id text PRIMARY KEY, "userId" text)`
await ctx.sql`CREATE TABLE "ChatMessage" (id text PRIMARY KEY, "dialogId" text, "createdAt" timestamp(3), attachments jsonb)`
await ctx.sql`INSERT INTO "ChatDialog" VALUES ('d-9', 'u-9')`
async function addMessage (n: number) {
  const object = await putLegacyObject(ctx.s3, `legacy/uploads/lock/${n}.txt`, Buffer.from(`message ${n}\n`))
  await ctx.sql`INSERT INTO "ChatMessage" VALUES (${`c-${n}`}, 'd-9', '2023-03-03 03:03:03', ${JSON.stringify([{ id: `C${n}`, path: object.key }])}::text::jsonb)`
}

t.test('two backfills at once', async (t) => {
  await addMessage(1)
  finished(t, await runBackfillCli([], ctx.env), 0)
  await addMessage(2)
  const shared = join(dir, 'shared-mapping.ndjson')
  // The running one (A) maps c-1 (already imported), then waits on its INSERT
  // for c-2, held up by this lock: the other (B) starts while A holds the
  // backfill lock, whatever the machine's speed.
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let locked!: () => void
  const lockTaken = new Promise<void>((resolve) => { locked = resolve })
  const holder = ctx.sql.begin(async (tx) => {
    await tx`LOCK TABLE chat_attachment IN EXCLUSIVE MODE`
    locked()
    await released
  })
  await lockTaken
  const state = { settled: false }
  // Its INSERT may wait as long as B takes to start and finish.
  const a = runBackfillCli(['--batch-size', '1', '--concurrency', '1', '--mapping-file', shared], { ...ctx.env, DATABASE_STATEMENT_TIMEOUT_MS: '600000' })
    .finally(() => { state.settled = true })
  const waiting = async () => {
    const [row] = await ctx.sql`SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'chat_attachment'::regclass AND NOT granted`
    return row!.n > 0
  }
  let b: CliResult
  try {
    while (!state.settled && !(await waiting())) await new Promise((resolve) => setTimeout(resolve, 20))
    b = await runBackfillCli(['--mapping-file', shared], ctx.env)
  } finally {
    release()
  }
  await holder
  const resA = await a

  t.test('one runs, the other reports alreadyRunning and exits 0', async (t) => {
    t.same(finished(t, b, 0), { dryRun: false, alreadyRunning: true, messagesScanned: 0, imported: 0, skipped: 0, missingObjects: 0, malformed: 0, failed: 0, lastCursor: null })
    t.match(b.stderr, /another run holds the lock/)
    t.match(finished(t, resA, 0), { imported: 1, skipped: 1, failed: 0, lastCursor: 'c-2' })
    t.same((await rows('legacy/uploads/lock/')).map((row) => row.message_id), ['c-1', 'c-2'], 'each imported once')
  })

  t.test('the skipped run leaves the running run\'s mapping file intact', async (t) => {
    const text = await readFile(shared, 'utf8')
    t.notOk(text.includes('\u0000'), 'no hole of NUL bytes')
    const lines = text.split('\n').filter((line) => line !== '')
    const parsed = lines.map((line) => { try { return JSON.parse(line) as { messageId: string } } catch { return { messageId: `unparsable: ${JSON.stringify(line.slice(0, 40))}` } } })
    t.same(parsed.map((line) => line.messageId).sort(), ['c-1', 'c-2'], 'both mapping lines of the run that did the work')
  })
})

t.test('exit 1 when the objects cannot be read (forced failure: S3 stopped); nothing half-imported', async (t) => {
  await addMessage(3)
  await ctx.s3.stop()
  let res: CliResult
  try {
    res = await runBackfillCli(['--report-file', reportFile], ctx.env)
  } finally {
    await ctx.s3.start()
  }
  t.match(finished(t, res, 1), { imported: 0, failed: 1, skipped: 2, lastCursor: 'c-3' })
  const failed = (await readNdjson(reportFile)).filter((line) => line.reason === 'failed')
  t.match(failed, [{ messageId: 'c-3', index: 0, path: 'legacy/uploads/lock/3.txt', detail: /S3/ }])
  t.equal(failed.length, 1)
  t.same(await rows('legacy/uploads/lock/3'), [], 'no row for the unread object')

  const retry = finished(t, await runBackfillCli([], ctx.env), 0)
  t.match(retry, { imported: 1, failed: 0 }, 'with S3 back, a rerun imports it')
  t.equal((await rows('legacy/uploads/lock/3')).length, 1)
})
