// The read audit's recorder against a real Postgres and one that is down:
// recording never waits, at most one write runs at a time, a failed write is
// kept (within AUDIT_BUFFER_MAX) and retried, and beyond the bound the
// oldest events are dropped, counted and logged, not once per event.
import { createHmac } from 'node:crypto'
import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { createAuditRecorder, type Access } from '../../src/audit/recorder.js'
import { createAccessLogRepository } from '../../src/db/access-log.js'
import { createDatabase } from '../../src/db/client.js'
import { runCleanup } from '../../src/jobs/cleanup.js'
import { createS3Storage } from '../../src/storage/s3.js'
import { loadConfig, S3_SETTINGS } from '../../src/config.js'
import { createTestDatabase, createTestS3 } from '../helper.js'
import { freePort } from '../support/process.js'

const access = (n: number): Access => ({
  attachmentId: '6f1c4d2e-8a4b-4c1d-9e2f-0a1b2c3d4e5f',
  dialogId: 'd-1',
  variant: 'original',
  viewer: `user-${n}`,
  grantedBy: 'owner',
  tokenSource: 'header',
  clientAddress: '10.0.0.1'
})

function capture () {
  const lines: string[] = []
  const log = pino({ level: 'info' }, new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } }))
  return { lines, log }
}

const dbConfig = (url: string) => ({ DATABASE_URL: url, DATABASE_POOL_MAX: 2, DATABASE_STATEMENT_TIMEOUT_MS: 2_000 })

t.test('Postgres down: bounded memory, the oldest dropped and counted, a few log lines; back: the rest is written', async (t) => {
  const { url } = await createTestDatabase(t)
  const down = createDatabase(dbConfig(`postgres://postgres@127.0.0.1:${await freePort()}/x`))
  t.teardown(() => down.close())
  const { lines, log } = capture()
  const recorder = createAuditRecorder({ repository: createAccessLogRepository(down.db), log, flushMs: 600_000, maxBuffered: 100, ipSalt: undefined })
  for (let n = 0; n < 250; n++) recorder.record(access(n), 200, 1)
  t.same(recorder.stats(), { queued: 100, dropped: 150, written: 0 }, 'at most AUDIT_BUFFER_MAX wait')
  for (let i = 0; i < 5; i++) await recorder.flush()
  t.same(recorder.stats(), { queued: 100, dropped: 150, written: 0 }, 'failed writes are kept for the next try')
  const warnings = lines.filter((line) => line.includes('Read audit (Postgres) is failing'))
  t.ok(warnings.length >= 1 && warnings.length <= 2, `logged, throttled (${warnings.length} lines for 150 drops and 5 failed writes)`)

  // Postgres is back (the same events, a repository on a live database).
  const live = createDatabase(dbConfig(url))
  t.teardown(() => live.close())
  const recovered = createAuditRecorder({ repository: createAccessLogRepository(live.db), log, flushMs: 600_000, maxBuffered: 100, ipSalt: undefined })
  for (let n = 150; n < 250; n++) recovered.record(access(n), 200, 1)
  await recovered.close()
  const rows = await live.sql`SELECT viewer FROM attachment_access ORDER BY id`
  t.equal(rows.length, 100)
  t.equal(rows[0]!.viewer, 'user-150', 'the newest were kept')
  await recorder.close()
})

t.test('one write at a time: flushes asked for while one runs share it', async (t) => {
  const { url, sql } = await createTestDatabase(t)
  const database = createDatabase(dbConfig(url))
  t.teardown(() => database.close())
  const repository = createAccessLogRepository(database.db)
  let writes = 0
  const counting = { ...repository, insertEncoded: async (json: string) => { writes++; await repository.insertEncoded(json) } }
  const recorder = createAuditRecorder({ repository: counting, log: capture().log, flushMs: 600_000, maxBuffered: 10_000, ipSalt: 'salt-salt-salt-salt' })
  for (let n = 0; n < 1_000; n++) recorder.record(access(n), 200, 1)
  await Promise.all([recorder.flush(), recorder.flush(), recorder.flush()])
  t.equal(writes, 1, 'one INSERT for the batch')
  t.equal((await sql`SELECT count(*)::int AS n FROM attachment_access`)[0]!.n, 1_000)
  await recorder.close()
  t.equal(writes, 1, 'close has nothing left to write')
})

t.test('client addresses are stored as their salted hash, for addresses seen again and past the remembered ones alike', async (t) => {
  const { url, sql } = await createTestDatabase(t)
  const database = createDatabase(dbConfig(url))
  t.teardown(() => database.close())
  const salt = 'salt-salt-salt-salt'
  const recorder = createAuditRecorder({ repository: createAccessLogRepository(database.db), log: capture().log, flushMs: 600_000, maxBuffered: 50_000, ipSalt: salt })
  // 12,000 addresses, each read twice: more than the recorder remembers.
  const address = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
  for (const round of [0, 1]) {
    for (let n = 0; n < 12_000; n++) recorder.record({ ...access(n), viewer: `user-${n}-${round}`, clientAddress: address(n) }, 200, 1)
  }
  await recorder.close()
  const rows = await sql`SELECT viewer, client_hash FROM attachment_access`
  t.equal(rows.length, 24_000)
  const expected = (n: number) => createHmac('sha256', salt).update(address(n)).digest('base64url').slice(0, 22)
  const wrong = rows.filter((row) => row.client_hash !== expected(Number(String(row.viewer).split('-')[1])))
  t.equal(wrong.length, 0, 'every row carries the HMAC of its own address')
})

t.test('the cleanup job prunes events older than AUDIT_RETENTION', async (t) => {
  const { url, sql } = await createTestDatabase(t)
  const s3 = await createTestS3(t)
  const database = createDatabase(dbConfig(url))
  const config = loadConfig({ S3_BUCKET: s3.bucket, S3_REGION: 'us-east-1', S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true', S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' }, S3_SETTINGS)
  const storage = createS3Storage(config)
  t.teardown(async () => { await database.close(); storage.destroy() })
  const day = 86_400_000
  for (const ageDays of [1, 399, 401, 500]) {
    await sql`INSERT INTO attachment_access (attachment_id, dialog_id, variant, viewer, granted_by, token_source, status, bytes, at)
      VALUES ('6f1c4d2e-8a4b-4c1d-9e2f-0a1b2c3d4e5f', 'd-1', 'original', ${`age-${ageDays}`}, 'owner', 'header', 200, 1, ${new Date(Date.now() - ageDays * day)})`
  }
  const summary = await runCleanup({ database, databaseUrl: url, storage, keyPrefix: 'attachments/' }, {
    olderThanMs: day, dryRun: false, orphans: false, batchSize: 100, auditRetentionMs: 400 * day
  })
  t.equal(summary.error, undefined)
  t.equal(summary.accessEventsPruned, 2)
  t.same((await sql`SELECT viewer FROM attachment_access ORDER BY viewer`).map((row) => row.viewer), ['age-1', 'age-399'])
})

t.test('each event is stored at the time it was recorded, to the millisecond', async (t) => {
  const { url } = await createTestDatabase(t)
  const database = createDatabase(dbConfig(url))
  t.teardown(() => database.close())
  const { log } = capture()
  const times = [new Date('2026-03-01T10:20:30.123Z'), new Date('1999-12-31T23:59:59.999Z'), new Date('2038-01-19T03:14:08.001Z')]
  let next = 0
  const recorder = createAuditRecorder({ repository: createAccessLogRepository(database.db), log, flushMs: 600_000, maxBuffered: 100, ipSalt: undefined, now: () => times[next++]!.getTime() })
  for (let n = 0; n < times.length; n++) recorder.record(access(n), 200, 1)
  await recorder.close()
  const rows = await database.sql<Array<{ ms: string }>>`SELECT (extract(epoch FROM at) * 1000)::numeric(20, 3)::text AS ms FROM attachment_access ORDER BY id`
  t.same(rows.map((row) => row.ms), times.map((time) => `${time.getTime()}.000`))
})

t.test('a write that failed (forced: the first INSERT throws) is written by the next one, first and as recorded', async (t) => {
  const { url } = await createTestDatabase(t)
  const database = createDatabase(dbConfig(url))
  t.teardown(() => database.close())
  const repository = createAccessLogRepository(database.db)
  let failNext = true
  const flaky = {
    ...repository,
    insertEncoded: async (json: string) => {
      if (failNext) {
        failNext = false
        throw new Error('connection lost')
      }
      await repository.insertEncoded(json)
    }
  }
  let clock = Date.parse('2026-03-01T10:20:30.000Z')
  const recorder = createAuditRecorder({ repository: flaky, log: capture().log, flushMs: 600_000, maxBuffered: 100, ipSalt: 'salt-salt-salt-salt', now: () => clock++ })
  for (let n = 0; n < 3; n++) recorder.record(access(n), 206, 100 + n)
  await recorder.flush()
  t.same(recorder.stats(), { queued: 3, dropped: 0, written: 0 }, 'kept after the failed write')
  for (let n = 3; n < 5; n++) recorder.record(access(n), 200, 100 + n)
  await recorder.flush()
  t.same(recorder.stats(), { queued: 0, dropped: 0, written: 5 })
  const rows = await database.sql<Array<{ viewer: string, status: number, bytes: string, count: number, client_hash: string | null, ms: string }>>`
    SELECT viewer, status, bytes::text, count, client_hash, (extract(epoch FROM at) * 1000)::bigint::text AS ms FROM attachment_access ORDER BY id`
  const hash = createHmac('sha256', 'salt-salt-salt-salt').update('10.0.0.1').digest('base64url').slice(0, 22)
  t.same(rows, [0, 1, 2, 3, 4].map((n) => ({
    viewer: `user-${n}`,
    status: n < 3 ? 206 : 200,
    bytes: String(100 + n),
    count: 1,
    client_hash: hash,
    ms: String(Date.parse('2026-03-01T10:20:30.000Z') + n)
  })), 'the retried rows first, with their own status, bytes, hash and time')
})
