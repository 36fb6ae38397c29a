// Retention and legal hold in the cleanup job, against real Postgres and S3:
// only LINKED attachments past their retention go (the dialog's policy, else
// RETENTION_DAYS), never one of a dialog under legal hold, and each deletion
// leaves a tombstone with its reason.
import t, { type Test } from 'tap'
import { auth, id } from '../helper.js'
import { stage } from '../support/attachments.js'
import { ageObject, listKeys, putObject } from '../support/bucket.js'
import { cleanupWorld, DAY } from '../support/cleanup-world.js'

t.setTimeout(240_000)

const { ctx, proxy, app, clean } = await cleanupWorld(t)

interface Item { id: string, key: string, size: number }

/** Uploads, optionally links, then backdates the upload by `ageDays`. */
async function item (dialogId: string, ageDays: number, link = true): Promise<Item> {
  const staged = await stage(app, dialogId, `content ${Math.random()}`)
  if (link) await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments/link`, headers: auth(), payload: { messageId: id('m'), attachmentIds: [staged.id] } })
  await ctx.sql`UPDATE chat_attachment SET created_at = now() - ${ageDays} * interval '1 day' WHERE id = ${staged.id}`
  return { id: staged.id, key: `attachments/${dialogId}/${staged.id}`, size: staged.size }
}

async function policy (dialogId: string, retentionDays: number | null, legalHold = false) {
  const res = await app.inject({ method: 'PUT', url: `/internal/v1/dialogs/${dialogId}/policy`, headers: auth(), payload: { retentionDays, legalHold } })
  if (res.statusCode !== 200) throw new Error(`policy: ${res.statusCode} ${res.body}`)
}

async function reset () {
  await ctx.sql`DELETE FROM chat_attachment`
  await ctx.sql`DELETE FROM dialog_policy`
  const keys = await listKeys(ctx.s3)
  if (keys.length > 0) await app.storage.deleteMany(keys)
}

async function assertState (t: Test, gone: Item[], kept: Item[]) {
  const keys = new Set(await listKeys(ctx.s3))
  const rows = new Set((await ctx.sql<Array<{ id: string }>>`SELECT id FROM chat_attachment`).map((row) => row.id))
  for (const { id: itemId, key } of gone) t.ok(!rows.has(itemId) && !keys.has(key), `${itemId}: row and object gone`)
  for (const { id: itemId, key } of kept) t.ok(rows.has(itemId) && keys.has(key), `${itemId}: row and object kept`)
}

const reasons = async (items: Item[]) => {
  const ids = items.map((entry) => entry.id)
  const rows = await ctx.sql<Array<{ attachment_id: string, reason: string }>>`SELECT attachment_id, reason FROM attachment_tombstone WHERE attachment_id = ANY(${ids}::uuid[])`
  return ids.map((itemId) => rows.find((row) => row.attachment_id === itemId)?.reason)
}

t.test('RETENTION_DAYS and dialog policies: only LINKED rows past their retention go, never under legal hold', async (t) => {
  await reset()
  const plain = id('d')
  const short = id('d')
  const long = id('d')
  const held = id('d')
  await policy(short, 5)
  await policy(long, 365)
  await policy(held, 1, true)
  const expired = [await item(plain, 40), await item(short, 10)]
  const kept = [await item(plain, 10), await item(short, 2), await item(long, 40), await item(held, 400), await item(held, 400, false)]
  const stale = [await item(plain, 40, false)]

  const dry = await clean({ retentionDays: 30, dryRun: true })
  t.match(dry, { dryRun: true, expiredFound: 2, expiredDeleted: 0, staleFound: 1, deleted: 0 }, 'a dry run counts them')
  await assertState(t, [], [...expired, ...kept, ...stale])

  const summary = await clean({ retentionDays: 30 })
  t.match(summary, { expiredFound: 2, expiredDeleted: 2, staleFound: 1, deleted: 1, failed: 0, bytesFreed: [...expired, ...stale].reduce((n, i) => n + i.size, 0) })
  await assertState(t, [...expired, ...stale], kept)
  t.same(await reasons([...expired, ...stale]), ['retention', 'retention', 'stale'], 'tombstones say why')
  t.same(await reasons(kept), kept.map(() => undefined), 'no tombstone for what stays')

  t.match(await clean({ retentionDays: 30 }), { expiredFound: 0, staleFound: 0 }, 'the next run finds nothing more')
  await policy(held, 1, false)
  t.match(await clean({ retentionDays: 30 }), { expiredFound: 1, staleFound: 1 }, 'once the hold is lifted the dialog\'s policy applies')
})

t.test('without RETENTION_DAYS attachments are kept for ever, except where a policy says otherwise', async (t) => {
  await reset()
  const plain = id('d')
  const short = id('d')
  await policy(short, 30)
  const kept = [await item(plain, 3650)]
  const expired = [await item(short, 31)]
  t.match(await clean(), { expiredFound: 1, expiredDeleted: 1 })
  await assertState(t, expired, kept)
})

t.test('a legal hold also keeps stray objects of the dialog from the orphan sweep', async (t) => {
  await reset()
  const held = id('d')
  const free = id('d')
  await policy(held, null, true)
  for (const dialogId of [held, free]) {
    await putObject(ctx.s3, `attachments/${dialogId}/orphan`, 'no row')
    await ageObject(ctx.s3, `attachments/${dialogId}/orphan`, 2 * DAY)
  }
  t.match(await clean({ orphans: true }), { orphansFound: 1, orphansDeleted: 1 })
  t.same(await listKeys(ctx.s3), [`attachments/${held}/orphan`])
})

t.test('a retention deletion that storage refused is finished by the next run, still as retention (forced: proxy refuses the key)', async (t) => {
  await reset()
  const dialogId = id('d')
  const expired = await item(dialogId, 40)
  proxy.failKeys.add(expired.key)
  try {
    t.match(await clean({ retentionDays: 30 }), { expiredFound: 1, expiredDeleted: 0, failed: 1 })
  } finally {
    proxy.failKeys.clear()
  }
  const [row] = await ctx.sql`SELECT status, deletion_reason FROM chat_attachment WHERE id = ${expired.id}`
  t.match(row, { status: 'DELETING', deletion_reason: 'retention' })
  t.match(await clean({ retentionDays: 30 }), { staleFound: 1, deleted: 1, failed: 0 }, 'the leftover is recovered')
  t.same(await reasons([expired]), ['retention'])
})
