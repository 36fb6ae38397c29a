import { randomUUID } from 'node:crypto'
import t from 'tap'
import { openapiDocument } from '../../scripts/openapi/document.js'
import { auth, build, id, setup } from '../helper.js'
import { uploadForm } from '../support/multipart.js'

const ctx = await setup(t)
const { app } = await build(t, ctx)

async function stage (dialogId: string, name: string) {
  const form = uploadForm(`content of ${name}`, { ownerId: 'owner', filename: name })
  const res = await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments`, headers: { ...auth(), 'content-type': form.contentType }, payload: form.body })
  return res.json() as { id: string, fileName: string }
}

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { ...auth(), ...headers } })

t.test('metadata of one attachment, with an entity tag and 304 on revalidation', async (t) => {
  const dialogId = id('d')
  const staged = await stage(dialogId, 'a.txt')
  const res = await get(`/internal/v1/dialogs/${dialogId}/attachments/${staged.id}`)
  t.equal(res.statusCode, 200)
  t.same(res.json(), staged, 'the same item the upload answered')
  const etag = res.headers.etag as string
  t.match(etag, /^"[^"]+"$/)

  const revalidated = await get(`/internal/v1/dialogs/${dialogId}/attachments/${staged.id}`, { 'if-none-match': etag })
  t.equal(revalidated.statusCode, 304)
  t.equal(revalidated.body, '')

  await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments/link`, headers: auth(), payload: { messageId: 'm', attachmentIds: [staged.id] } })
  const changed = await get(`/internal/v1/dialogs/${dialogId}/attachments/${staged.id}`, { 'if-none-match': etag })
  t.equal(changed.statusCode, 200, 'a changed item is sent again')
  t.equal(changed.json().status, 'LINKED')
})

t.test('not in this dialog, or unknown: 404; not a UUID: 400', async (t) => {
  const dialogId = id('d')
  const staged = await stage(dialogId, 'a.txt')
  const other = await get(`/internal/v1/dialogs/${id('d')}/attachments/${staged.id}`)
  t.equal(other.statusCode, 404)
  t.match(other.json(), { statusCode: 404, code: 'ATT_NOT_FOUND', error: 'Not Found' })
  t.equal((await get(`/internal/v1/dialogs/${dialogId}/attachments/${randomUUID()}`)).statusCode, 404)
  t.equal((await get(`/internal/v1/dialogs/${dialogId}/attachments/not-a-uuid`)).statusCode, 400)
})

t.test('the attachments of one message, oldest first', async (t) => {
  const dialogId = id('d')
  const items = [await stage(dialogId, '1.txt'), await stage(dialogId, '2.txt'), await stage(dialogId, '3.txt')]
  const loose = await stage(dialogId, 'loose.txt')
  await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments/link`, headers: auth(), payload: { messageId: 'm-1', attachmentIds: [items[2]!.id, items[0]!.id, items[1]!.id] } })

  const res = await get(`/internal/v1/dialogs/${dialogId}/attachments?messageId=m-1`)
  t.equal(res.statusCode, 200)
  t.equal(res.json().messageId, 'm-1')
  t.same(res.json().attachments.map((item: { fileName: string }) => item.fileName), ['1.txt', '2.txt', '3.txt'])
  t.notOk(res.json().attachments.some((item: { id: string }) => item.id === loose.id), 'a staged file belongs to no message')

  const elsewhere = await get(`/internal/v1/dialogs/${id('d')}/attachments?messageId=m-1`)
  t.same(elsewhere.json().attachments, [], 'scoped to the dialog')
  t.same((await get(`/internal/v1/dialogs/${dialogId}/attachments?messageId=none`)).json().attachments, [])
  t.equal((await get(`/internal/v1/dialogs/${dialogId}/attachments`)).statusCode, 400, 'messageId is required')
  t.equal((await get(`/internal/v1/dialogs/${dialogId}/attachments?messageId=a%20b`)).statusCode, 400)
})

t.test('the OpenAPI document describes the internal API', async (t) => {
  const res = await get('/internal/v1/openapi.json')
  t.equal(res.statusCode, 200)
  const doc = res.json()
  t.equal(doc.openapi, '3.1.0')
  t.ok(doc.paths['/internal/v1/dialogs/{dialogId}/attachments'].post, 'upload')
  t.ok(doc.paths['/internal/v1/dialogs/{dialogId}/attachments/link'].post, 'link')
  t.ok(doc.paths['/internal/v1/dialogs/{dialogId}/attachments/{attachmentId}'].get, 'metadata')
  t.equal((await app.inject({ method: 'GET', url: '/internal/v1/openapi.json' })).statusCode, 401, 'behind the service token')
  // The document the linter and the client's type generator read (scripts/openapi) is the one served.
  t.same(doc, await openapiDocument(), 'the same as npm run lint:openapi and client:types see')
})
