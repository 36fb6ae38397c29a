// Retention and legal hold of a dialog: the policy API, and the hold blocking
// every deletion route (409 ATT_LEGAL_HOLD, nothing deleted). Tombstones of
// the API's deletions, and erasure by customer.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { auth, build, id, setup } from '../helper.js'
import { attach, stage } from '../support/attachments.js'
import { listKeys, putObject } from '../support/bucket.js'

const ctx = await setup(t)
const { app } = await build(t, ctx, { RETENTION_DAYS: '90' })

const policyUrl = (dialogId: string) => `/internal/v1/dialogs/${dialogId}/policy`
const putPolicy = (dialogId: string, payload: unknown) => app.inject({ method: 'PUT', url: policyUrl(dialogId), headers: auth(), payload: payload as object })
const hold = async (dialogId: string, legalHold = true) => {
  const res = await putPolicy(dialogId, { retentionDays: null, legalHold })
  if (res.statusCode !== 200) throw new Error(`policy: ${res.statusCode} ${res.body}`)
}
const remove = (dialogId: string, attachmentId?: string) =>
  app.inject({ method: 'DELETE', url: `/internal/v1/dialogs/${dialogId}/attachments${attachmentId ? `/${attachmentId}` : ''}`, headers: auth() })
const tombstones = async (dialogId: string) => (await app.inject({ url: `/internal/v1/dialogs/${dialogId}/tombstones`, headers: auth() })).json()
const rowCount = async (dialogId: string) => (await ctx.sql`SELECT 1 FROM chat_attachment WHERE dialog_id = ${dialogId}`).length

t.test('policy: defaults before any PUT, then what was PUT, replaced as a whole', async (t) => {
  const dialogId = id('d')
  const initial = await app.inject({ url: policyUrl(dialogId), headers: auth() })
  t.equal(initial.statusCode, 200)
  t.same(initial.json(), { dialogId, retentionDays: null, legalHold: false, effectiveRetentionDays: 90, updatedAt: null }, 'the global RETENTION_DAYS applies')

  const set = await putPolicy(dialogId, { retentionDays: 30, legalHold: true })
  t.equal(set.statusCode, 200)
  t.match(set.json(), { dialogId, retentionDays: 30, legalHold: true, effectiveRetentionDays: 30, updatedAt: String })
  t.match((await app.inject({ url: policyUrl(dialogId), headers: auth() })).json(), { retentionDays: 30, legalHold: true })

  await putPolicy(dialogId, { retentionDays: null, legalHold: false })
  t.match((await app.inject({ url: policyUrl(dialogId), headers: auth() })).json(), { retentionDays: null, legalHold: false, effectiveRetentionDays: 90 })
})

t.test('policy: bad input is a 400 with a JSON error, nothing stored; no token 401', async (t) => {
  const dialogId = id('d')
  for (const payload of [
    {}, { legalHold: true }, { retentionDays: null }, { retentionDays: 0, legalHold: false }, { retentionDays: -1, legalHold: false },
    { retentionDays: 1.5, legalHold: false }, { retentionDays: '30', legalHold: false }, { retentionDays: 30, legalHold: 'yes' },
    { retentionDays: 36_501, legalHold: false }, { retentionDays: 30, legalHold: false, extra: 1 }
  ]) {
    const res = await putPolicy(dialogId, payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.json().code, 'ATT_VALIDATION')
  }
  t.equal((await putPolicy('bad id!', { retentionDays: null, legalHold: true })).statusCode, 400, 'a malformed dialog id')
  t.equal((await app.inject({ method: 'PUT', url: policyUrl(dialogId), payload: { retentionDays: null, legalHold: true } })).statusCode, 401)
  t.match((await app.inject({ url: policyUrl(dialogId), headers: auth() })).json(), { updatedAt: null }, 'nothing was stored')
})

t.test('legal hold: DELETE of one attachment and of the dialog answer 409, nothing is deleted; lifted, both work', async (t) => {
  const dialogId = id('d')
  const items = [await attach(app, dialogId, 'evidence'), await stage(app, dialogId, 'staged evidence')]
  const stray = `attachments/${dialogId}/${randomUUID()}`
  await putObject(ctx.s3, stray, 'an upload that died before its row')
  await hold(dialogId)

  const one = await remove(dialogId, items[0]!.id)
  t.equal(one.statusCode, 409)
  t.match(one.json(), { statusCode: 409, code: 'ATT_LEGAL_HOLD', message: /legal hold.*nothing was deleted/ })
  const all = await remove(dialogId)
  t.equal(all.statusCode, 409)
  t.equal(all.json().code, 'ATT_LEGAL_HOLD')
  t.equal(await rowCount(dialogId), 2, 'every row stays')
  t.equal((await listKeys(ctx.s3, `attachments/${dialogId}/`)).length, 3, 'every object stays, the stray one too')
  t.same((await tombstones(dialogId)).tombstones, [], 'no tombstone')

  await hold(dialogId, false)
  t.equal((await remove(dialogId, items[0]!.id)).statusCode, 204)
  t.same((await remove(dialogId)).json(), { dialogId, deleted: 1 })
  t.same(await listKeys(ctx.s3, `attachments/${dialogId}/`), [])
})

t.test('tombstones: one per deleted attachment, reason deleted or erased, newest first, in pages', async (t) => {
  const dialogId = id('d')
  const first = await attach(app, dialogId, 'one', { messageId: 'm-7' })
  const rest = [await attach(app, dialogId, 'two'), await stage(app, dialogId, 'three')]
  t.equal((await remove(dialogId, first.id)).statusCode, 204)
  t.equal((await remove(dialogId)).statusCode, 200)

  const page = await tombstones(dialogId)
  t.equal(page.tombstones.length, 3)
  t.equal(page.nextCursor, null)
  const byId = new Map(page.tombstones.map((stone: { attachmentId: string }) => [stone.attachmentId, stone]))
  t.match(byId.get(first.id), { dialogId, ownerId: 'owner', messageId: 'm-7', reason: 'deleted', deletedAt: String })
  for (const item of rest) t.match(byId.get(item.id), { reason: 'erased' })
  t.equal(page.tombstones.at(-1).attachmentId, first.id, 'the oldest deletion comes last')

  const firstPage = (await app.inject({ url: `/internal/v1/dialogs/${dialogId}/tombstones?limit=2`, headers: auth() })).json()
  t.equal(firstPage.tombstones.length, 2)
  const secondPage = (await app.inject({ url: `/internal/v1/dialogs/${dialogId}/tombstones?limit=2&cursor=${firstPage.nextCursor}`, headers: auth() })).json()
  t.same([...firstPage.tombstones, ...secondPage.tombstones].map((s: { attachmentId: string }) => s.attachmentId), page.tombstones.map((s: { attachmentId: string }) => s.attachmentId))
  t.equal((await app.inject({ url: `/internal/v1/dialogs/${dialogId}/tombstones?cursor=bogus`, headers: auth() })).statusCode, 400)
})

t.test('erasure by customer: every dialog of the owner, counts per dialog; held dialogs kept whole and listed; other owners untouched', async (t) => {
  const ownerId = id('o')
  const [free1, free2, held] = [id('d'), id('d'), id('d')]
  await attach(app, free1, 'a', { ownerId })
  await stage(app, free1, 'b', { ownerId })
  await attach(app, free2, 'c', { ownerId })
  await attach(app, held, 'd', { ownerId })
  await attach(app, held, 'e', { ownerId })
  const other = await attach(app, id('d'), 'not theirs', { ownerId: id('o') })
  await hold(held)

  const res = await app.inject({ method: 'DELETE', url: `/internal/v1/owners/${ownerId}/attachments`, headers: auth() })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.ownerId, ownerId)
  t.equal(body.deleted, 3)
  t.same(body.dialogs.sort((a: { dialogId: string }, b: { dialogId: string }) => a.dialogId.localeCompare(b.dialogId)),
    [{ dialogId: free1, deleted: 2 }, { dialogId: free2, deleted: 1 }].sort((a, b) => a.dialogId.localeCompare(b.dialogId)))
  t.same(body.heldBack, [{ dialogId: held, attachments: 2 }])
  t.equal(await rowCount(free1) + await rowCount(free2), 0)
  t.equal(await rowCount(held), 2, 'the held dialog keeps everything')
  t.equal((await listKeys(ctx.s3, `attachments/${held}/`)).length, 2)
  t.equal(await rowCount(other.dialogId), 1, 'another owner is untouched')
  t.match((await tombstones(free1)).tombstones, [{ reason: 'erased' }, { reason: 'erased' }])

  const again = (await app.inject({ method: 'DELETE', url: `/internal/v1/owners/${ownerId}/attachments`, headers: auth() })).json()
  t.same(again, { ownerId, deleted: 0, dialogs: [], heldBack: [{ dialogId: held, attachments: 2 }] }, 'a retry deletes nothing more')
  t.equal((await app.inject({ method: 'DELETE', url: '/internal/v1/owners/bad%20id/attachments', headers: auth() })).statusCode, 400)
})
