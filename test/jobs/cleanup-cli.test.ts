// The cleanup entrypoint as the CronJob runs it: a process with flags,
// one JSON line, documented exit codes, one run at a time, and a run killed
// at the worst moment converging on the next.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { build, id, setup } from '../helper.js'
import { stage } from '../support/attachments.js'
import { listKeys } from '../support/bucket.js'
import { startEntrypoint } from '../support/process.js'
import { startS3Proxy } from '../support/s3-proxy.js'

const ctx = await setup(t)
const proxy = await startS3Proxy(() => ctx.s3.endpoint)
t.teardown(() => proxy.close())
const { app } = await build(t, ctx)
const env = { ...ctx.env, S3_ENDPOINT: proxy.endpoint }

const start = (args: string[]) => startEntrypoint('src/cli/cleanup.ts', args, env)
const run = (args: string[]) => start(args).done
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
  for (const args of [['--nope'], ['--older-than', 'soon'], ['--older-than', '30m', '--orphans'], ['--batch-size', '0'], ['--batch-size', '5000'], ['--max-items', '-1'], ['stray']]) {
    const outcome = await run(args)
    t.equal(outcome.code, 2, args.join(' '))
    t.match(outcome.stderr, /Usage: cleanup/, `${args.join(' ')}: usage printed`)
    t.equal(outcome.stdout, '', `${args.join(' ')}: no summary`)
  }
})

t.test('a run prints one JSON summary line and exits 0 by itself', async (t) => {
  const items = await staleItems(2)
  const outcome = await run(['--older-than', '1d'])
  t.equal(outcome.signal, null, 'exited by itself')
  t.equal(outcome.code, 0)
  t.equal(outcome.stdout.trim().split('\n').length, 1, 'exactly one line on stdout')
  t.match(lastJson(outcome.stdout), { dryRun: false, staleFound: 2, deleted: 2, failed: 0, orphansFound: 0, orphansDeleted: 0, bytesFreed: 14 })
  t.same(await ctx.sql`SELECT id FROM chat_attachment WHERE id = ANY(${items.map((i) => i.id)}::uuid[])`, [])
})

t.test('two runs started together: one works, the other skips with exit 0, and no lock is left', async (t) => {
  await staleItems(3)
  // Slow S3 keeps the first run inside its lock while the second starts.
  proxy.delayMs = 1_500
  try {
    const outcomes = await Promise.all([run(['--orphans']), run(['--orphans'])])
    t.same(outcomes.map((o) => o.code), [0, 0], 'both exit 0')
    const summaries = outcomes.map((o) => lastJson(o.stdout))
    const skipped = summaries.filter((s) => s.alreadyRunning === true)
    t.equal(skipped.length, 1, 'exactly one skipped')
    t.equal(summaries.find((s) => !s.alreadyRunning)?.deleted, 3, 'the other did the work')
    t.match(outcomes.find((o) => lastJson(o.stdout).alreadyRunning)?.stderr, /skipped: another run holds the lock/)
  } finally {
    proxy.delayMs = 0
  }
  t.equal(await advisoryLocks(), 0, 'no advisory lock left in pg_locks')
})

t.test('killed after deleting the objects and before deleting the rows, the next run converges (forced: row lock, then SIGKILL)', async (t) => {
  const items = await staleItems(3)
  const ids = items.map((i) => i.id)
  proxy.delayMs = 500
  const { child, done } = start([])
  // Hold the rows once claimed, so the run blocks right before deleting them.
  const held = ctx.sql.begin(async (tx) => {
    await waitFor(async () => (await tx`SELECT count(*)::int AS n FROM chat_attachment WHERE id = ANY(${ids}::uuid[]) AND status = 'DELETING'`)[0]!.n === 3)
    await tx`SELECT id FROM chat_attachment WHERE id = ANY(${ids}::uuid[]) FOR UPDATE`
    await waitFor(async () => (await tx`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'chat-attachments:cleanup' AND wait_event_type = 'Lock'`)[0]!.n > 0)
    child.kill('SIGKILL')
    await done
    // Postgres notices a dead client only at its next I/O; end its sessions
    // now, as that would, so the blocked DELETE dies with the process.
    await tx`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chat-attachments:cleanup'`
  })
  await held
  proxy.delayMs = 0
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
    outcome = await run([])
  } finally {
    await ctx.s3.start()
  }
  t.equal(outcome.code, 1)
  t.match(lastJson(outcome.stdout), { staleFound: 2, deleted: 0, failed: 2 })
  t.same((await ctx.sql`SELECT status FROM chat_attachment WHERE id = ANY(${items.map((i) => i.id)}::uuid[])`).map((r) => r.status), ['DELETING', 'DELETING'])
  t.match(lastJson((await run([])).stdout), { staleFound: 2, deleted: 2, failed: 0 }, 'the next run finishes them')
})

async function waitFor (condition: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not reached')
    await sleep(20)
  }
}
