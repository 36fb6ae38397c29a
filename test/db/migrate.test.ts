// runMigrations and the db:migrate CLI on fresh, unmigrated databases: the
// schema they create, idempotence, and safety when several pods start at once.
import { readFileSync } from 'node:fs'
import postgres from 'postgres'
import t from 'tap'
import { LOCKS } from '../../src/db/locks.js'
import { MIGRATIONS_FOLDER, runMigrations } from '../../src/db/migrate.js'
import { createEmptyDatabase } from '../helper.js'
import { freePort, runEntrypoint } from '../support/process.js'

const journal = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as { entries: Array<{ tag: string }> }

async function appliedMigrations (sql: postgres.Sql): Promise<Array<{ hash: string, created_at: string }>> {
  return sql`SELECT hash, created_at::text FROM drizzle.__drizzle_migrations ORDER BY id`
}

/** Advisory locks held or awaited in this database (locks are per database). */
async function advisoryLocks (sql: postgres.Sql): Promise<Array<{ granted: boolean }>> {
  return sql`SELECT granted FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
}

async function tableExists (sql: postgres.Sql): Promise<boolean> {
  const [row] = await sql<Array<{ exists: boolean }>>`SELECT to_regclass('public.chat_attachment') IS NOT NULL AS exists`
  return row!.exists
}

t.test('creates chat_attachment, the attachment_status enum and the indexes', async (t) => {
  const { url, sql } = await createEmptyDatabase(t)
  t.equal(await tableExists(sql), false, 'the database starts empty')
  await runMigrations(url)
  t.equal(await tableExists(sql), true, 'table chat_attachment')

  const labels = await sql`SELECT e.enumlabel FROM pg_enum e JOIN pg_type ty ON ty.oid = e.enumtypid WHERE ty.typname = 'attachment_status' ORDER BY e.enumsortorder`
  // Later migrations may add states; these two come first, in this order.
  t.same(labels.map((row) => row.enumlabel).slice(0, 2), ['UPLOADED', 'LINKED'], 'enum attachment_status')
  const [status] = await sql`SELECT udt_name FROM information_schema.columns WHERE table_name = 'chat_attachment' AND column_name = 'status'`
  t.equal(status?.udt_name, 'attachment_status', 'the status column uses the enum')

  const indexes = await sql<Array<{ columns: string[], unique: boolean }>>`
    SELECT ix.indisunique AS unique, array_agg(a.attname::text ORDER BY k.ord) AS columns
    FROM pg_index ix
    JOIN pg_class c ON c.oid = ix.indrelid
    CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
    WHERE c.relname = 'chat_attachment'
    GROUP BY ix.indexrelid, ix.indisunique`
  const found = new Set(indexes.map((index) => `${index.unique ? 'unique ' : ''}(${index.columns.join(',')})`))
  for (const expected of ['(dialog_id,id)', '(status,created_at)', 'unique (message_id,storage_key)', 'unique (storage_key)', 'unique (id)']) {
    t.ok(found.has(expected), `index ${expected}`)
  }
  t.same(await appliedMigrations(sql).then((rows) => rows.length), journal.entries.length, 'one row per migration file')
})

t.test('running it again is a no-op', async (t) => {
  const { url, sql } = await createEmptyDatabase(t)
  await runMigrations(url)
  const before = await appliedMigrations(sql)
  // A row that a re-created table would lose.
  await sql`INSERT INTO chat_attachment (id, dialog_id, owner_id, uploaded_by, storage_key, file_name, content_type, size_bytes, sha256, etag)
    VALUES (gen_random_uuid(), 'd', 'o', 'o', 'k', 'f', 'text/plain', 1, ${'0'.repeat(64)}, 'e')`
  await runMigrations(url)
  t.same(await appliedMigrations(sql), before, 'no migration applied twice')
  const [{ count }] = await sql`SELECT count(*)::int AS count FROM chat_attachment` as unknown as [{ count: number }]
  t.equal(count, 1, 'data kept')
  t.same(await advisoryLocks(sql), [], 'no advisory lock left behind')
})

t.test('three runMigrations at once on a fresh database all succeed, each migration applied once', async (t) => {
  const { url, sql } = await createEmptyDatabase(t)
  // Without the lock, two of three runs fail on CREATE TYPE / CREATE SCHEMA races.
  const results = await Promise.allSettled([runMigrations(url), runMigrations(url), runMigrations(url)])
  const failures = results.flatMap((result) => result.status === 'rejected' ? [String((result.reason as Error).message)] : [])
  t.same(failures, [], 'every run succeeded')
  const applied = await appliedMigrations(sql)
  t.equal(applied.length, journal.entries.length, 'exactly one row per migration file')
  t.equal(new Set(applied.map((row) => row.hash)).size, applied.length, 'no migration recorded twice')
  t.equal(await tableExists(sql), true)
  t.same(await advisoryLocks(sql), [], 'no advisory lock held afterwards')
})

t.test('a run waits while another holder has the migrate lock', async (t) => {
  const { url, sql } = await createEmptyDatabase(t)
  // One connection, so the session lock is taken and released on the same one.
  const holder = postgres(url, { max: 1, onnotice: () => {} })
  t.teardown(() => holder.end({ timeout: 1 }))
  await holder`SELECT pg_advisory_lock(hashtextextended(${LOCKS.migrate}, 0))`
  const state = { settled: false }
  const run = runMigrations(url).finally(() => { state.settled = true })
  // Wait (by state, not by time) until the run queues behind the lock; a run
  // that ignores the lock settles instead, and the next assertion fails.
  while (!state.settled && !(await advisoryLocks(sql)).some((lock) => !lock.granted)) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(await tableExists(sql), false, 'nothing migrated while the lock is held elsewhere')
  await holder`SELECT pg_advisory_unlock(hashtextextended(${LOCKS.migrate}, 0))`
  await run
  t.equal(await tableExists(sql), true, 'migrated once the lock was released')
})

const runCli = (env: Record<string, string | undefined>) => runEntrypoint('src/cli/migrate.ts', [], env)

t.test('CLI: exits 0 after migrating a good DATABASE_URL', async (t) => {
  const { url, sql } = await createEmptyDatabase(t)
  const { code, stdout } = await runCli({ DATABASE_URL: url })
  t.equal(code, 0)
  t.match(JSON.parse(stdout), { migrated: true })
  t.equal(await tableExists(sql), true)
})

t.test('CLI: exits non-zero with a message when Postgres is unreachable (forced failure, closed port)', async (t) => {
  const { code, stderr } = await runCli({ DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/nothing` })
  t.not(code, 0)
  t.not(code, null, 'it exited by itself')
  t.match(stderr, /migration failed: .+/)
})

t.test('CLI: exits non-zero naming DATABASE_URL when it is missing', async (t) => {
  const { code, stderr } = await runCli({})
  t.not(code, 0)
  t.not(code, null, 'it exited by itself')
  t.match(stderr, /DATABASE_URL is required/)
  t.match(stderr, /^[^\n]+\n$/, 'one line')
})
