import { createHash } from 'node:crypto'
import t from 'tap'
import { auth, build, id, listen, setup } from '../helper.js'
import { assertNothingLeft, listKeys, listMultipartUploads, objectDigest } from '../support/bucket.js'
import { randomChunks, send } from '../support/http.js'
import { multipart, PNG_1X1, uploadForm, type MultipartBody } from '../support/multipart.js'

const ctx = await setup(t)
const { app } = await build(t, ctx)

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')
const uploadUrl = (dialogId: string, query = '') => `/internal/v1/dialogs/${dialogId}/attachments${query}`

function upload (dialogId: string, form: MultipartBody, query = '') {
  return app.inject({
    method: 'POST',
    url: uploadUrl(dialogId, query),
    headers: { ...auth(), 'content-type': form.contentType },
    payload: form.body
  })
}

async function rowCount (dialogId: string): Promise<number> {
  const [row] = await ctx.sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM chat_attachment WHERE dialog_id = ${dialogId}`
  return row!.n
}

/** Nothing of the dialog anywhere: no row, no object, no unfinished multipart upload. */
t.test('a staged file: 201 with the whole item, the row and the exact bytes in storage', async (t) => {
  const dialogId = id('d')
  const res = await upload(dialogId, uploadForm('hello world\n', { ownerId: 'owner-1', filename: 'hello.txt', contentType: 'text/plain' }))
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.match(body, {
    dialogId,
    ownerId: 'owner-1',
    uploadedBy: 'owner-1',
    status: 'UPLOADED',
    messageId: null,
    linkedAt: null,
    fileName: 'hello.txt',
    contentType: 'text/plain; charset=utf-8',
    declaredContentType: 'text/plain',
    size: 12,
    sha256: sha256('hello world\n')
  })
  t.match(body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a random v4 UUID')
  t.equal(body.url, `/v1/attachments/${dialogId}/${body.id}`)
  t.match(body.etag, /^"[A-Za-z0-9_-]{43}"$/, 'a strong ETag')
  t.equal(body.etag, `"${Buffer.from(body.sha256, 'hex').toString('base64url')}"`, 'derived from the content hash')
  t.equal(body.createdAt, body.lastModified)

  const [row] = await ctx.sql`SELECT * FROM chat_attachment WHERE id = ${body.id}`
  t.equal(row!.storage_key, `attachments/${dialogId}/${body.id}`, 'the key holds ids only')
  t.equal(row!.status, 'UPLOADED')
  t.ok(row!.last_modified instanceof Date)
  t.same(await objectDigest(ctx.s3, row!.storage_key), { sha256: body.sha256, size: 12 })
})

t.test('ownerId and uploadedBy: field, query, default and conflicts', async (t) => {
  const dialogId = id('d')
  const viaQuery = await upload(dialogId, uploadForm('a'), '?ownerId=o-q&uploadedBy=agent-7')
  t.equal(viaQuery.statusCode, 201)
  t.match(viaQuery.json(), { ownerId: 'o-q', uploadedBy: 'agent-7' })

  const withUploader = await upload(dialogId, multipart([
    { name: 'ownerId', value: 'o-f' },
    { name: 'uploadedBy', value: 'agent-9' },
    { name: 'file', filename: 'a.txt', data: 'a' }
  ]))
  t.equal(withUploader.statusCode, 201)
  t.match(withUploader.json(), { ownerId: 'o-f', uploadedBy: 'agent-9' })

  const conflicting = await upload(dialogId, uploadForm('a', { ownerId: 'o-1' }), '?ownerId=o-2')
  t.equal(conflicting.statusCode, 400)
  t.equal(conflicting.json().code, 'ATT_BAD_UPLOAD')
  t.equal(await rowCount(dialogId), 2)
})

t.test('0 B is refused, 1 B and a few MB stream through with the right SHA-256', async (t) => {
  const dialogId = id('d')
  const empty = await upload(dialogId, uploadForm(Buffer.alloc(0), { ownerId: 'o' }))
  t.equal(empty.statusCode, 400)
  t.equal(empty.json().code, 'ATT_EMPTY_FILE')
  await assertNothingLeft(t, ctx, dialogId)

  const one = await upload(dialogId, uploadForm(Buffer.from([0x42]), { ownerId: 'o' }))
  t.equal(one.statusCode, 201)
  t.equal(one.json().size, 1)
  t.equal(one.json().sha256, sha256(Buffer.from([0x42])))

  // 7 MiB crosses the 5 MiB part size: a real multipart upload, sent chunked.
  const base = await listen(app)
  const size = 7 * 1024 * 1024
  const head = multipart([{ name: 'ownerId', value: 'o' }, { name: 'file', filename: 'big.bin', data: '' }])
  const [prefix, suffix] = splitAroundFile(head)
  const hash = createHash('sha256')
  for await (const chunk of randomChunks(size)) hash.update(chunk)
  const res = await send(`${base}${uploadUrl(dialogId)}`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': head.contentType },
    body: (async function * () { yield prefix; yield * randomChunks(size); yield suffix })()
  })
  t.equal(res.status, 201, res.body.toString())
  const body = JSON.parse(res.body.toString())
  t.equal(body.size, size)
  t.equal(body.sha256, hash.digest('hex'))
  t.same(await objectDigest(ctx.s3, `attachments/${dialogId}/${body.id}`), { sha256: body.sha256, size })
  t.same(await listMultipartUploads(ctx.s3), [], 'the multipart upload was completed')
})

t.test('malformed forms are 400 and leave nothing behind', async (t) => {
  const cases: Array<[string, MultipartBody, string?]> = [
    ['no file part', multipart([{ name: 'ownerId', value: 'o' }])],
    ['an empty form', multipart([])],
    ['two files', multipart([{ name: 'ownerId', value: 'o' }, { name: 'file', filename: 'a.txt', data: 'a' }, { name: 'file', filename: 'b.txt', data: 'b' }])],
    ['a file part with another name', multipart([{ name: 'ownerId', value: 'o' }, { name: 'upload', filename: 'a.txt', data: 'a' }])],
    ['no ownerId', uploadForm('a')],
    ['ownerId after the file', multipart([{ name: 'file', filename: 'a.txt', data: 'a' }, { name: 'ownerId', value: 'o' }])],
    ['a field after the file', multipart([{ name: 'ownerId', value: 'o' }, { name: 'file', filename: 'a.txt', data: 'a' }, { name: 'uploadedBy', value: 'x' }])],
    ['an invalid ownerId field', uploadForm('a', { ownerId: 'not valid!' })],
    ['a 129-character ownerId', uploadForm('a', { ownerId: 'o'.repeat(129) })],
    ['an unknown field', multipart([{ name: 'ownerID', value: 'o' }, { name: 'file', filename: 'a.txt', data: 'a' }])],
    ['an invalid ownerId query', uploadForm('a'), '?ownerId=a%2Fb'],
    ['a truncated body', { ...uploadForm('abc', { ownerId: 'o' }), body: uploadForm('abc', { ownerId: 'o' }).body.subarray(0, 150) }]
  ]
  for (const [name, form, query] of cases) {
    const dialogId = id('d')
    const res = await upload(dialogId, form, query)
    t.equal(res.statusCode, 400, `${name}: 400`)
    t.same(Object.keys(res.json()).sort(), ['code', 'error', 'message', 'statusCode'], `${name}: JSON error`)
    await assertNothingLeft(t, ctx, dialogId)
  }
})

t.test('an invalid dialogId is 400', async (t) => {
  for (const dialogId of ['a.b', 'd'.repeat(129), 'sp%20ace']) {
    const res = await upload(dialogId, uploadForm('a', { ownerId: 'o' }))
    t.equal(res.statusCode, 400, dialogId)
  }
})

t.test('a request that is not multipart is 415', async (t) => {
  const res = await app.inject({ method: 'POST', url: uploadUrl(id('d')), headers: auth(), payload: { ownerId: 'o' } })
  t.equal(res.statusCode, 415)
  t.equal(res.json().code, 'ATT_NOT_MULTIPART')
})

t.test('file names: Unicode kept, hostile parts removed, never in the key', async (t) => {
  const dialogId = id('d')
  const cases: Array<[string, string]> = [
    ['отчёт за 2026 ✓.pdf', 'отчёт за 2026 ✓.pdf'],
    ['e\u0301te\u0301.txt', 'été.txt'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\secret.docx', 'secret.docx'],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['tab\there\u0007.txt', 'tabhere.txt'],
    ['quote\\"s.txt', 'quote"s.txt'],
    ['..', 'file'],
    [`${'ж'.repeat(300)}.jpeg`, `${'ж'.repeat(125)}.jpeg`]
  ]
  for (const [raw, expected] of cases) {
    const res = await upload(dialogId, uploadForm('x', { ownerId: 'o', filename: raw }))
    t.equal(res.statusCode, 201, raw)
    t.equal(res.json().fileName, expected, JSON.stringify(raw))
    t.ok(Buffer.byteLength(res.json().fileName) <= 255)
  }
  const keys = await listKeys(ctx.s3, `attachments/${dialogId}/`)
  t.equal(keys.length, cases.length)
  for (const key of keys) t.match(key, new RegExp(`^attachments/${dialogId}/[0-9a-f-]{36}$`), 'only ids in keys')
})

t.test('the served type comes from the bytes, not from the client', async (t) => {
  const dialogId = id('d')
  const cases: Array<[Buffer | string, string, string]> = [
    [PNG_1X1, 'application/octet-stream', 'image/png'],
    ['<!DOCTYPE html><script>alert(1)</script>', 'image/png', 'text/html'],
    ['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 'image/png', 'image/svg+xml'],
    ['%PDF-1.4\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n', 'text/plain', 'application/pdf'],
    [Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe]), 'image/png', 'application/octet-stream']
  ]
  for (const [data, declared, expected] of cases) {
    const res = await upload(dialogId, uploadForm(data, { ownerId: 'o', contentType: declared }))
    t.equal(res.statusCode, 201)
    t.equal(res.json().contentType, expected, `declared ${declared}`)
    t.equal(res.json().declaredContentType, declared)
  }
})

/** The multipart envelope before and after an (empty) file's bytes. */
function splitAroundFile (form: MultipartBody): [Buffer, Buffer] {
  const marker = Buffer.from('\r\n\r\n\r\n--')
  const at = form.body.lastIndexOf(marker)
  return [form.body.subarray(0, at + 4), form.body.subarray(at + 4)]
}
