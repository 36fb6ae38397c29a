// The cleanup entrypoint as the CronJob runs it: a process with flags,
// one JSON line, documented exit codes, one run at a time, and a run killed
// at the worst moment converging on the next.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { build, id, setup } from '../helper.js'
import { stage } from '../support/attachments.js'
import { listKeys } from '../support/bucket.js'
import { createTempDir } from '../support/leftovers.js'
import { parseMetrics } from '../support/prometheus.js'
import { startEntrypoint, type ProcessResult } from '../support/process.js'
import { isDeleteObjects, startS3Proxy } from '../support/s3-proxy.js'
import { waitUntil } from '../support/wait.js'

// A dozen CLI processes: 3.5 minutes on a shared 2-core machine under load.
t.setTimeout(480_000)

const ctx = await setup(t)
const proxy = await startS3Proxy(() => ctx.s3.endpoint)
t.teardown(() => proxy.close())
const { app } = await build(t, ctx)
const env = { ...ctx.env, S3_ENDPOINT: proxy.endpoint }

const start = (args: string[]) => startEntrypoint('src/cli/cleanup.ts', args, env)
const run = (args: string[]) => start(args).done
const metricsFile = join(await createTempDir(t, 'cleanup-metrics'), 'cleanup.prom')
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>

async function staleItems (count: number): Promise<Array<{ id: string, key: string }>> {
  const dialogId = id('d')
  const items = []
  for (let i = 0; i < count; i++) {
    const staged = await stage(app, dialogId, `stale ${i}`)
    items.push({ id: staged.id, key: `attachments/${dialogId}/${staged.id}` })
  }
  await ctx.sql`UPDATE chat_attachment SET created_at = now() - interval '2 days' WHERE id = ANY(${items.map((i) => i.id)}::uuid[])`
  return items
}

const advisoryLocks = async () => {
  const [row] = await ctx.sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
  return row!.n
}

t.test('bad flags: exit 2 with the usage', async (t) => {
  // Independent runs that read nothing: started together.
  const cases = [['--nope'], ['--older-than', 'soon'], ['--older-than', '30m', '--orphans'], ['--batch-size', '0'], ['--batch-size', '5000'], ['--max-items', '-1'], ['stray']]
  const outcomes = await Promise.all(cases.map((args) => run(args)))
  cases.forEach((args, i) => {
    const outcome = outcomes[i]!
    t.equal(outcome.code, 2, args.join(' '))
    t.match(outcome.stderr, /Usage: cleanup/, `${args.join(' ')}: usage printed`)
    t.equal(outcome.stdout, '', `${args.join(' ')}: no summary`)
  })
})

t.test('a run prints one JSON summary line and exits 0 by itself', async (t) => {
  const items = await staleItems(2)
  const outcome = await run(['--older-than', '1d', '--metrics-file', metricsFile])
  t.equal(outcome.signal, null, 'exited by itself')
  t.equal(outcome.code, 0)
  t.equal(outcome.stdout.trim().split('\n').length, 1, 'exactly one line on stdout')
  t.match(lastJson(outcome.stdout), { dryRun: false, staleFound: 2, deleted: 2, failed: 0, orphansFound: 0, orphansDeleted: 0, bytesFreed: 14 })
  // The same counts for node-exporter's textfile collector.
  const metrics = parseMetrics(await readFile(metricsFile, 'utf8'))
  t.equal(metrics.value('chat_attachments_cleanup_deleted'), 2)
  t.equal(metrics.value('chat_attachments_cleanup_bytes_freed'), 14)
  t.equal(metrics.value('chat_attachments_cleanup_last_run_success'), 1)
  t.ok(Math.abs(metrics.value('chat_attachments_cleanup_last_success_timestamp_seconds') - Date.now() / 1000) < 600, 'last success: now')
  t.same(await ctx.sql`SELECT id FROM chat_attachment WHERE id = ANY(${items.map((i) => i.id)}::uuid[])`, [])
})

/** Statements of this file's database waiting for a lock (read outside any transaction: pg_stat_activity is a per-transaction snapshot). */
const waitingForLocks = async () => (await ctx.sql<Array<{ n: number }>>`
  SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)[0]!.n

t.test('a second run while one works skips with exit 0, and no lock is left (forced: the first held inside its lock)', async (t) => {
  await staleItems(3)
  // The table locked against writes: the first run takes the cleanup lock,
  // then waits on its claim; the second starts while it waits.
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let locked!: () => void
  const tableLocked = new Promise<void>((resolve) => { locked = resolve })
  const holder = ctx.sql.begin(async (tx) => {
    await tx`LOCK TABLE chat_attachment IN EXCLUSIVE MODE`
    locked()
    await released
  })
  let first: Promise<ProcessResult> | undefined
  let second: ProcessResult
  try {
    await tableLocked
    // Its claim may wait as long as the second run takes to start.
    first = startEntrypoint('src/cli/cleanup.ts', ['--orphans'], { ...env, DATABASE_STATEMENT_TIMEOUT_MS: '600000' }).done
    let ended = false
    first.finally(() => { ended = true }).catch(() => {})
    // (One that ignored the lock would end instead; the assertions below catch it.)
    await waitUntil(async () => ended || await waitingForLocks() > 0, 'the first run waits on its claim')
    second = await run(['--orphans'])
  } finally {
    release()
    await holder
  }
  const firstOutcome = await first!
  t.equal(second.code, 0, 'the second exits 0')
  t.match(lastJson(second.stdout), { alreadyRunning: true, staleFound: 0, deleted: 0 }, 'and did nothing')
  t.match(second.stderr, /skipped: another run holds the lock/)
  t.equal(firstOutcome.code, 0, 'the first exits 0')
  t.match(lastJson(firstOutcome.stdout), { staleFound: 3, deleted: 3, failed: 0 }, 'and did the work')
  t.notOk(lastJson(firstOutcome.stdout).alreadyRunning)
  t.equal(await advisoryLocks(), 0, 'no advisory lock left in pg_locks')
})

t.test('killed after deleting the objects and before deleting the rows, the next run converges (forced: row lock, then SIGKILL)', async (t) => {
  const items = await staleItems(3)
  const ids = items.map((i) => i.id)
  // The run is held at its DeleteObjects (rows claimed, objects still
  // there) until the rows are locked; then its row DELETE must wait.
  const deletes = proxy.hold(isDeleteObjects)
  // Held as long as the test needs, which must not count as an S3 timeout.
  const { child, done } = startEntrypoint('src/cli/cleanup.ts', [], { ...env, S3_REQUEST_TIMEOUT_MS: '600000' })
  try {
    await Promise.race([deletes.reached, done.then((result) => { throw new Error(`the run ended first: ${result.stdout}${result.stderr}`) })])
    await ctx.sql.begin(async (tx) => {
      await tx`SELECT id FROM chat_attachment WHERE id = ANY(${ids}::uuid[]) AND status = 'DELETING' FOR UPDATE`
      deletes.release()
      await waitUntil(async () => await waitingForLocks() > 0, 'the run waits to delete the rows')
      child.kill('SIGKILL')
      await done
      // Postgres notices a dead client only at its next I/O; end its sessions
      // now, as that would, so the blocked DELETE dies with the process.
      await tx`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chat-attachments:cleanup'`
    })
  } finally {
    deletes.release()
    child.kill('SIGKILL')
  }
  t.equal((await done).signal, 'SIGKILL')
  const keys = new Set(await listKeys(ctx.s3))
  t.ok(items.every((i) => !keys.has(i.key)), 'the objects had been deleted')
  t.same((await ctx.sql`SELECT status FROM chat_attachment WHERE id = ANY(${ids}::uuid[])`).map((r) => r.status), ['DELETING', 'DELETING', 'DELETING'], 'the rows were still there')
  t.equal(await advisoryLocks(), 0, 'the killed run\'s lock died with its session')

  const next = await run([])
  t.equal(next.code, 0)
  t.match(lastJson(next.stdout), { staleFound: 3, deleted: 3, failed: 0 })
  t.same(await ctx.sql`SELECT id FROM chat_attachment WHERE id = ANY(${ids}::uuid[])`, [], 'converged: the rows are gone too')
})

t.test('S3 down: exit 1, the rows kept for the next run (forced: S3 server killed)', async (t) => {
  const items = await staleItems(2)
  await ctx.s3.stop()
  let outcome
  try {
    outcome = await run(['--metrics-file', metricsFile])
  } finally {
    await ctx.s3.start()
  }
  t.equal(outcome.code, 1)
  t.match(lastJson(outcome.stdout), { staleFound: 2, deleted: 0, failed: 2 })
  const metrics = parseMetrics(await readFile(metricsFile, 'utf8'))
  t.equal(metrics.value('chat_attachments_cleanup_failed'), 2, 'the failed items, for the textfile collector')
  t.equal(metrics.value('chat_attachments_cleanup_last_run_success'), 0)
  t.ok(metrics.value('chat_attachments_cleanup_last_success_timestamp_seconds') > 0, 'the last success of the earlier run is kept')
  t.same((await ctx.sql`SELECT status FROM chat_attachment WHERE id = ANY(${items.map((i) => i.id)}::uuid[])`).map((r) => r.status), ['DELETING', 'DELETING'])
  t.match(lastJson((await run([])).stdout), { staleFound: 2, deleted: 2, failed: 0 }, 'the next run finishes them')
})

t.test('RETENTION_DAYS reaches the job: an attachment on a message past it goes, a bad value is exit 2', async (t) => {
  const dialogId = id('d')
  const staged = await stage(app, dialogId, 'old message file')
  await ctx.sql`UPDATE chat_attachment SET status = 'LINKED', message_id = 'm-old', linked_at = now(), created_at = now() - interval '40 days' WHERE id = ${staged.id}`
  const outcome = await startEntrypoint('src/cli/cleanup.ts', [], { ...env, RETENTION_DAYS: '30' }).done
  t.equal(outcome.code, 0, outcome.stderr)
  t.match(lastJson(outcome.stdout), { expiredFound: 1, expiredDeleted: 1, failed: 0 })
  const [stone] = await ctx.sql`SELECT reason FROM attachment_tombstone WHERE attachment_id = ${staged.id}`
  t.match(stone, { reason: 'retention' })
  const bad = await startEntrypoint('src/cli/cleanup.ts', [], { ...env, RETENTION_DAYS: '0' }).done
  t.equal(bad.code, 2)
  t.match(bad.stderr, /RETENTION_DAYS/)
})
