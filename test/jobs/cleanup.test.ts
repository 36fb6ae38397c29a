// The cleanup job against real Postgres and S3: what goes, what stays, and
// that no interleaving with links leaves a LINKED row without its object.
import { setTimeout as sleep } from 'node:timers/promises'
import type postgres from 'postgres'
import t, { type Test } from 'tap'
import { runCleanup } from '../../src/jobs/cleanup.js'
import type { ObjectStorage } from '../../src/storage/storage.js'
import { auth, id } from '../helper.js'
import { stage } from '../support/attachments.js'
import { ageObject, listKeys, putObject } from '../support/bucket.js'
import { cleanupWorld, DAY } from '../support/cleanup-world.js'
import { waitUntil } from '../support/wait.js'

// 50 soak rounds and a dozen cleanup runs: slow on a busy machine.
t.setTimeout(300_000)

const HOUR = 3_600_000
const { ctx, proxy, app, deps, clean } = await cleanupWorld(t)

interface Item { id: string, key: string, size: number }

/** Uploads through the API, optionally links, then backdates the row. */
async function item (dialogId: string, ageMs: number, options: { content?: string, link?: boolean } = {}): Promise<Item> {
  const staged = await stage(app, dialogId, options.content ?? `content ${Math.random()}`)
  if (options.link) {
    await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments/link`, headers: auth(), payload: { messageId: id('m'), attachmentIds: [staged.id] } })
  }
  await ctx.sql`UPDATE chat_attachment SET created_at = now() - ${ageMs / 1000} * interval '1 second' WHERE id = ${staged.id}`
  return { id: staged.id, key: `attachments/${dialogId}/${staged.id}`, size: staged.size }
}

async function statusOf (attachmentId: string): Promise<string | undefined> {
  const [row] = await ctx.sql<Array<{ status: string }>>`SELECT status FROM chat_attachment WHERE id = ${attachmentId}`
  return row?.status
}

/** Every test starts from an empty table and bucket. */
async function reset () {
  await ctx.sql`DELETE FROM chat_attachment`
  const keys = await listKeys(ctx.s3)
  if (keys.length > 0) await app.storage.deleteMany(keys)
}

async function assertGone (t: Test, items: Item[], label: string) {
  const keys = new Set(await listKeys(ctx.s3))
  for (const { id: itemId, key } of items) {
    t.equal(await statusOf(itemId), undefined, `${label}: row gone`)
    t.notOk(keys.has(key), `${label}: object gone`)
  }
}

async function assertKept (t: Test, items: Item[], label: string, status?: string) {
  const keys = new Set(await listKeys(ctx.s3))
  for (const { id: itemId, key } of items) {
    t.ok(await statusOf(itemId), `${label}: row kept`)
    if (status) t.equal(await statusOf(itemId), status, `${label}: ${status}`)
    t.ok(keys.has(key), `${label}: object kept`)
  }
}

t.test('a dry run changes nothing and reports what would go', async (t) => {
  await reset()
  const dialogId = id('d')
  const stale = [await item(dialogId, 2 * DAY), await item(dialogId, 3 * DAY)]
  const fresh = [await item(dialogId, HOUR)]
  const linked = [await item(dialogId, 2 * DAY, { link: true })]
  const summary = await clean({ dryRun: true })
  t.match(summary, { dryRun: true, staleFound: 2, deleted: 0, failed: 0, orphansFound: 0, orphansDeleted: 0, bytesFreed: stale[0]!.size + stale[1]!.size })
  t.notOk('alreadyRunning' in summary)
  await assertKept(t, stale, 'stale', 'UPLOADED')
  await assertKept(t, [...fresh, ...linked], 'fresh and linked')
})

t.test('stale staged rows and their objects go; fresh and LINKED ones stay', async (t) => {
  await reset()
  const dialogId = id('d')
  const stale = [await item(dialogId, 2 * DAY), await item(dialogId, 25 * HOUR)]
  const fresh = [await item(dialogId, 23 * HOUR)]
  const linked = [await item(dialogId, 10 * DAY, { link: true })]
  const summary = await clean()
  t.match(summary, { dryRun: false, staleFound: 2, deleted: 2, failed: 0, bytesFreed: stale[0]!.size + stale[1]!.size })
  t.ok(summary.durationMs >= 0)
  await assertGone(t, stale, 'stale')
  await assertKept(t, fresh, 'fresh', 'UPLOADED')
  await assertKept(t, linked, 'linked', 'LINKED')
})

t.test('--batch-size and --max-items bound the work; the next run goes on', async (t) => {
  await reset()
  const dialogId = id('d')
  const stale = await Promise.all(Array.from({ length: 7 }, () => item(dialogId, 2 * DAY)))
  const first = await clean({ batchSize: 3, maxItems: 5 })
  t.match(first, { staleFound: 5, deleted: 5 })
  const [left] = await ctx.sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM chat_attachment WHERE status = 'UPLOADED'`
  t.equal(left!.n, 2)
  t.match(await clean({ batchSize: 3 }), { staleFound: 2, deleted: 2 })
  await assertGone(t, stale, 'all seven')
})

t.test('storage refusing some keys keeps exactly those rows, and the next run finishes them (forced: proxy refuses the keys)', async (t) => {
  await reset()
  const dialogId = id('d')
  const items = await Promise.all(Array.from({ length: 5 }, () => item(dialogId, 2 * DAY)))
  const refused = items.slice(0, 2)
  for (const { key } of refused) proxy.failKeys.add(key)
  try {
    t.match(await clean(), { staleFound: 5, deleted: 3, failed: 2 })
  } finally {
    proxy.failKeys.clear()
  }
  await assertGone(t, items.slice(2), 'deleted')
  await assertKept(t, refused, 'refused', 'DELETING')
  const linkAttempt = await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments/link`, headers: auth(), payload: { messageId: 'm-late', attachmentIds: [refused[0]!.id] } })
  t.equal(linkAttempt.statusCode, 409, 'a kept row cannot be linked any more')

  t.match(await clean(), { staleFound: 2, deleted: 2, failed: 0 }, 'the next run picks them up')
  await assertGone(t, refused, 'refused, later')
})

// The two ways a link and a cleanup run can meet, each made to happen on
// purpose; then a soak that only checks the invariant, whichever way each
// round goes.
const linkTo = (dialogId: string, attachmentId: string) =>
  app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments/link`, headers: auth(), payload: { messageId: 'm', attachmentIds: [attachmentId] } })

/** Runs fn in a transaction of the test's own that holds until release() is called. */
async function holding (fn: (tx: postgres.TransactionSql) => Promise<unknown>): Promise<{ release: () => Promise<void> }> {
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let ready!: () => void
  const held = new Promise<void>((resolve) => { ready = resolve })
  const done = ctx.sql.begin(async (tx) => {
    await fn(tx)
    ready()
    await released
  })
  await Promise.race([held, done])
  return { release: async () => { release(); await done } }
}

/** Statements of this file's database waiting for a lock. */
const waitingForLocks = async () => (await ctx.sql<Array<{ n: number }>>`
  SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE a.datname = current_database() AND NOT l.granted`)[0]!.n

t.test('a link that holds the row first wins: the cleanup claim skips it, the link succeeds (forced: the row locked as a link locks it)', async (t) => {
  await reset()
  const dialogId = id('d')
  const it = await item(dialogId, 2 * DAY)
  // A link starts by locking its rows (SELECT ... FOR UPDATE); this
  // transaction does the same and keeps the lock while cleanup runs.
  const lock = await holding((tx) => tx`SELECT id FROM chat_attachment WHERE id = ${it.id} FOR UPDATE`)
  let summary!: Awaited<ReturnType<typeof clean>>
  let link!: ReturnType<typeof linkTo>
  try {
    // A link arriving now queues behind the lock, as it would behind another link.
    link = linkTo(dialogId, it.id)
    await waitUntil(async () => await waitingForLocks() > 0, 'the link waits for the row lock')
    summary = await clean()
  } finally {
    await lock.release()
  }
  t.match(summary, { staleFound: 0, deleted: 0, failed: 0 }, 'the claim passed over the locked row')
  t.equal(summary.error, undefined, 'without waiting for it or failing')
  t.equal((await link).statusCode, 200, 'the link then succeeded')
  t.equal(await statusOf(it.id), 'LINKED')
  t.ok(await app.storage.head(it.key), 'with its object')
  t.match(await clean(), { staleFound: 0, deleted: 0 }, 'a LINKED row is never claimed afterwards')
  t.ok(await app.storage.head(it.key), 'the object is still there')
})

t.test('cleanup that claimed the row first wins: a link meanwhile gets 409, then row and object go (forced: cleanup paused after its claim)', async (t) => {
  await reset()
  const dialogId = id('d')
  const it = await item(dialogId, 2 * DAY)
  // The run stops right after its claim, before it deletes any object.
  let claimed!: () => void
  const hasClaimed = new Promise<void>((resolve) => { claimed = resolve })
  let resume!: () => void
  const resumed = new Promise<void>((resolve) => { resume = resolve })
  const storage: ObjectStorage = Object.assign(Object.create(app.storage) as ObjectStorage, {
    async deleteMany (keys: string[]) {
      claimed()
      await resumed
      return app.storage.deleteMany(keys)
    }
  })
  const run = runCleanup({ ...deps, storage }, { olderThanMs: DAY, dryRun: false, orphans: false, batchSize: 500 })
  let linked!: Awaited<ReturnType<typeof linkTo>>
  try {
    await Promise.race([hasClaimed, run.then((summary) => { throw new Error(`cleanup ended without deleting: ${JSON.stringify(summary)}`) })])
    t.equal(await statusOf(it.id), 'DELETING', 'the row is claimed')
    t.ok(await app.storage.head(it.key), 'its object is still there')
    linked = await linkTo(dialogId, it.id)
  } finally {
    resume()
  }
  t.equal(linked.statusCode, 409, 'the link is refused')
  t.equal(linked.json().code, 'ATT_LINK_CONFLICT')
  t.match(await run, { staleFound: 1, deleted: 1, failed: 0 }, 'the run finished its work')
  t.equal(await statusOf(it.id), undefined, 'the row is gone')
  t.notOk(await app.storage.head(it.key), 'the object is gone')
})

t.test('soak: links racing cleanup runs, 50 rounds: never a LINKED row without its object, never a half-deleted one', async (t) => {
  await reset()
  for (let round = 0; round < 50; round++) {
    const dialogId = id('d')
    const it = await item(dialogId, 2 * DAY)
    // A random head start for the link varies the interleaving; which way a
    // round goes is not asserted, only that each way ends consistent.
    const link = async () => {
      await sleep(Math.random() * 15)
      return linkTo(dialogId, it.id)
    }
    const [linkResult] = await Promise.all([link(), clean()])
    const status = await statusOf(it.id)
    const object = await app.storage.head(it.key)
    if (status === 'LINKED') {
      if (!object) t.fail(`round ${round}: LINKED without its object`)
      if (linkResult.statusCode !== 200) t.fail(`round ${round}: linked, yet the link answered ${linkResult.statusCode}`)
    } else {
      if (status !== undefined) t.fail(`round ${round}: row left in ${status}`)
      if (object) t.fail(`round ${round}: object left without a row`)
      if (![404, 409].includes(linkResult.statusCode)) t.fail(`round ${round}: the losing link answered ${linkResult.statusCode}`)
    }
  }
  t.pass('every round ended consistent')
})

t.test('orphan sweep: old objects without a row go; new ones, referenced ones and others stay', async (t) => {
  await reset()
  const dialogId = id('d')
  const oldOrphan = `attachments/${dialogId}/${crypto.randomUUID()}`
  const newOrphan = `attachments/${dialogId}/${crypto.randomUUID()}`
  const outside = `legacy/${crypto.randomUUID()}`
  for (const key of [oldOrphan, newOrphan, outside]) await putObject(ctx.s3, key, 'orphan bytes')
  await ageObject(ctx.s3, oldOrphan, 2 * DAY)
  await ageObject(ctx.s3, outside, 2 * DAY)
  const referenced = await item(dialogId, HOUR, { link: true })
  await ageObject(ctx.s3, referenced.key, 2 * DAY)

  t.match(await clean({ orphans: true, dryRun: true }), { orphansFound: 1, orphansDeleted: 0, bytesFreed: 12 }, 'dry run')
  t.ok((await listKeys(ctx.s3)).includes(oldOrphan), 'the dry run deleted nothing')
  t.match(await clean({ orphans: true }), { orphansFound: 1, orphansDeleted: 1, bytesFreed: 12, failed: 0 })
  const keys = await listKeys(ctx.s3)
  t.notOk(keys.includes(oldOrphan), 'the old orphan went')
  t.ok(keys.includes(newOrphan), 'a new object without a row (an upload in flight) stays')
  t.ok(keys.includes(outside), 'objects outside S3_KEY_PREFIX are never touched')
  t.ok(keys.includes(referenced.key), 'an object with a row stays')
})

t.test('orphans across pages of the listing', async (t) => {
  await reset()
  const dialogId = id('d')
  const orphans = Array.from({ length: 7 }, () => `attachments/${dialogId}/${crypto.randomUUID()}`)
  for (const key of orphans) {
    await putObject(ctx.s3, key, 'x')
    await ageObject(ctx.s3, key, 2 * DAY)
  }
  t.match(await clean({ orphans: true, batchSize: 3 }), { orphansFound: 7, orphansDeleted: 7 })
  t.same(await listKeys(ctx.s3, `attachments/${dialogId}/`), [])
})
