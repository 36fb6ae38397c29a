// DELETE one attachment, or a whole dialog: object first, then row; a storage
// failure answers 503 and leaves the row unreadable until a retry finishes.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { auth, build, id, setup, token } from '../helper.js'
import { attach, stage } from '../support/attachments.js'
import { listKeys, putObject } from '../support/bucket.js'
import { startS3Proxy } from '../support/s3-proxy.js'

const ctx = await setup(t)
const proxy = await startS3Proxy(() => ctx.s3.endpoint)
t.teardown(() => proxy.close())
const { app } = await build(t, ctx, { S3_ENDPOINT: proxy.endpoint })

const remove = (dialogId: string, attachmentId?: string) =>
  app.inject({ method: 'DELETE', url: `/internal/v1/dialogs/${dialogId}/attachments${attachmentId ? `/${attachmentId}` : ''}`, headers: auth() })
const download = (dialogId: string, attachmentId: string) =>
  app.inject({ url: `/v1/attachments/${dialogId}/${attachmentId}`, headers: { authorization: `Bearer ${token({ sub: 'owner' })}` } })
const rows = (dialogId: string) => ctx.sql<Array<{ id: string, status: string }>>`SELECT id, status FROM chat_attachment WHERE dialog_id = ${dialogId} ORDER BY id`

t.test('one attachment: 204, object and row gone; a retry is 404', async (t) => {
  const dialogId = id('d')
  const kept = await attach(app, dialogId, 'stays')
  const gone = await attach(app, dialogId, 'goes')
  const res = await remove(dialogId, gone.id)
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.same(await listKeys(ctx.s3, `attachments/${dialogId}/`), [`attachments/${dialogId}/${kept.id}`])
  t.same((await rows(dialogId)).map((r) => r.id), [kept.id])
  t.equal((await download(dialogId, gone.id)).statusCode, 404)
  t.equal((await remove(dialogId, gone.id)).statusCode, 404, 'a retry after success finds nothing')
  t.equal((await download(dialogId, kept.id)).statusCode, 200, 'the other one is untouched')
})

t.test('not in this dialog: 404 and nothing changes', async (t) => {
  const dialogId = id('d')
  const item = await stage(app, dialogId, 'mine')
  t.equal((await remove(id('d'), item.id)).statusCode, 404)
  t.equal((await remove(dialogId, randomUUID())).statusCode, 404)
  t.equal((await remove(dialogId, 'not-a-uuid')).statusCode, 400)
  t.same((await rows(dialogId)).map((r) => r.status), ['UPLOADED'])
})

t.test('storage refusing the delete: 503, the row is unreadable and unlinkable, a retry finishes (forced: proxy refuses the key)', async (t) => {
  const dialogId = id('d')
  const item = await stage(app, dialogId, 'stubborn')
  const key = `attachments/${dialogId}/${item.id}`
  proxy.failKeys.add(key)
  try {
    const res = await remove(dialogId, item.id)
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'ATT_UNAVAILABLE')
  } finally {
    proxy.failKeys.clear()
  }
  t.same((await rows(dialogId)).map((r) => r.status), ['DELETING'])
  t.ok((await listKeys(ctx.s3)).includes(key), 'the object is still there')
  t.equal((await download(dialogId, item.id)).statusCode, 404, 'no longer readable')
  const link = await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments/link`, headers: auth(), payload: { messageId: 'm', attachmentIds: [item.id] } })
  t.equal(link.statusCode, 409, 'no longer linkable')
  t.equal((await remove(dialogId, item.id)).statusCode, 204, 'the retry finishes')
  t.same(await rows(dialogId), [])
  t.notOk((await listKeys(ctx.s3)).includes(key))
})

t.test('a whole dialog: every attachment, staged or linked, and stray objects under it; other dialogs untouched', async (t) => {
  const dialogId = id('d')
  const other = id('d')
  const items = [await attach(app, dialogId, 'one'), await stage(app, dialogId, 'two'), await attach(app, dialogId, 'three')]
  const stray = `attachments/${dialogId}/${randomUUID()}`
  await putObject(ctx.s3, stray, 'an upload that died before its row')
  const elsewhere = await attach(app, other, 'keep me')
  const res = await remove(dialogId)
  t.equal(res.statusCode, 200)
  t.same(res.json(), { dialogId, deleted: items.length })
  t.same(await rows(dialogId), [])
  t.same(await listKeys(ctx.s3, `attachments/${dialogId}/`), [], 'nothing left under the dialog')
  t.equal((await download(other, elsewhere.id)).statusCode, 200, 'another dialog is untouched')
  t.same((await remove(dialogId)).json(), { dialogId, deleted: 0 }, 'erasing again is a no-op')
})

t.test('a whole dialog with a storage failure: 503, then a retry completes (forced: proxy refuses one key)', async (t) => {
  const dialogId = id('d')
  const items = [await attach(app, dialogId, 'a'), await attach(app, dialogId, 'b')]
  proxy.failKeys.add(`attachments/${dialogId}/${items[0]!.id}`)
  try {
    t.equal((await remove(dialogId)).statusCode, 503)
  } finally {
    proxy.failKeys.clear()
  }
  t.same((await rows(dialogId)).map((r) => r.id), [items[0]!.id], 'only the refused one is left')
  t.same((await remove(dialogId)).json(), { dialogId, deleted: 1 })
  t.same(await listKeys(ctx.s3, `attachments/${dialogId}/`), [])
})
