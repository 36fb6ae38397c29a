// Size and type limits over real sockets: a refused upload answers promptly,
// the client sees the answer, and nothing is left behind anywhere.
import { request } from 'node:http'
import t from 'tap'
import { auth, build, id, listen, setup } from '../helper.js'
import { assertNothingLeft, listMultipartUploads } from '../support/bucket.js'
import { randomChunks, send } from '../support/http.js'
import { multipart, PNG_1X1, type MultipartBody } from '../support/multipart.js'
import { waitUntil } from '../support/wait.js'

const MiB = 1024 * 1024
const ctx = await setup(t)
const small = await build(t, ctx, { ATTACHMENT_MAX_BYTES: String(MiB), ATTACHMENT_ALLOWED_TYPES: 'image/*, application/pdf, text/plain' })
const large = await build(t, ctx, { ATTACHMENT_MAX_BYTES: String(6 * MiB) })
const smallUrl = await listen(small.app)
const largeUrl = await listen(large.app)

/** The envelope of a one-file form, split where the file's bytes go. */
function envelope (filename = 'data.bin', contentType = 'application/octet-stream'): { prefix: Buffer, suffix: Buffer, contentType: string } {
  const form: MultipartBody = multipart([{ name: 'ownerId', value: 'o' }, { name: 'file', filename, contentType, data: '' }])
  const at = form.body.lastIndexOf(Buffer.from('\r\n\r\n\r\n--')) + 4
  return { prefix: form.body.subarray(0, at), suffix: form.body.subarray(at), contentType: form.contentType }
}

/** Posts `size` bytes of file content (a PNG unless `first` says otherwise); chunked unless `length` is true. */
function post (base: string, dialogId: string, size: number, options: { length?: boolean, first?: Buffer } = {}) {
  const { prefix, suffix, contentType } = envelope()
  const headers: Record<string, string> = { ...auth(), 'content-type': contentType }
  const firstBytes = options.first ?? PNG_1X1
  if (options.length) headers['content-length'] = String(prefix.length + size + suffix.length)
  return send(`${base}/internal/v1/dialogs/${dialogId}/attachments`, {
    method: 'POST',
    headers,
    body: (async function * () {
      yield prefix
      if (firstBytes.length > 0) yield firstBytes
      yield * randomChunks(size - firstBytes.length)
      yield suffix
    })()
  })
}

function json (body: Buffer) {
  return JSON.parse(body.toString()) as { statusCode: number, code: string }
}

t.test('a file of exactly ATTACHMENT_MAX_BYTES is accepted', async (t) => {
  const res = await post(smallUrl, id('d'), MiB, { length: true })
  t.equal(res.status, 201)
  t.equal(JSON.parse(res.body.toString()).size, MiB)
})

t.test('one byte over the limit with a truthful Content-Length: 413, nothing stored', async (t) => {
  const dialogId = id('d')
  const res = await post(smallUrl, dialogId, MiB + 1, { length: true })
  t.equal(res.status, 413)
  t.match(json(res.body), { statusCode: 413, code: 'ATT_FILE_TOO_LARGE' })
  await assertNothingLeft(t, ctx, dialogId)
})

t.test('a Content-Length far over the limit is refused before reading the body', async (t) => {
  const dialogId = id('d')
  const res = await post(smallUrl, dialogId, 8 * MiB, { length: true })
  t.equal(res.status, 413)
  t.equal(json(res.body).code, 'ATT_FILE_TOO_LARGE')
  await assertNothingLeft(t, ctx, dialogId)
})

t.test('chunked, without Content-Length, over the limit: 413, nothing stored', async (t) => {
  const dialogId = id('d')
  const res = await post(smallUrl, dialogId, 3 * MiB)
  t.equal(res.status, 413)
  t.equal(json(res.body).code, 'ATT_FILE_TOO_LARGE')
  await assertNothingLeft(t, ctx, dialogId)
})

t.test('over the limit after a multipart upload began: it is aborted, no parts remain', async (t) => {
  const dialogId = id('d')
  // 6 MiB limit, 5 MiB parts: past the first part, so a multipart upload has
  // begun (or is beginning) when the limit trips.
  const res = await post(largeUrl, dialogId, 12 * MiB)
  t.equal(res.status, 413)
  await assertNothingLeft(t, ctx, dialogId)
})

t.test('a type outside ATTACHMENT_ALLOWED_TYPES: 415 before anything is stored', async (t) => {
  const dialogId = id('d')
  const zip = Buffer.from('504b0304140000000800', 'hex')
  const res = await post(smallUrl, dialogId, 900 * 1024, { first: zip })
  t.equal(res.status, 415)
  t.match(json(res.body), { statusCode: 415, code: 'ATT_TYPE_NOT_ALLOWED' })
  await assertNothingLeft(t, ctx, dialogId)

  const html = await post(smallUrl, dialogId, 1000, { first: Buffer.from('<!DOCTYPE html><p>hi</p>') })
  t.equal(html.status, 415, 'HTML is not text/plain')

  const png = multipart([{ name: 'ownerId', value: 'o' }, { name: 'file', filename: 'p.png', data: PNG_1X1 }])
  const ok = await small.app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments`, headers: { ...auth(), 'content-type': png.contentType }, payload: png.body })
  t.equal(ok.statusCode, 201, 'an allowed type still passes')
  t.equal(ok.json().contentType, 'image/png')
})

t.test('a client that hangs up mid-upload leaves nothing, and the service carries on', async (t) => {
  const dialogId = id('d')
  const { prefix, contentType } = envelope()
  await new Promise<void>((resolve) => {
    const req = request(`${largeUrl}/internal/v1/dialogs/${dialogId}/attachments`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': contentType }
    })
    req.on('error', () => resolve())
    req.write(prefix)
    const sendPartOfTheBody = async () => {
      // 5.5 MiB: past the first part, so a multipart upload gets under way;
      // the client hangs up once it is.
      for await (const chunk of randomChunks(5.5 * MiB)) {
        if (!req.write(chunk)) await new Promise((resolve) => req.once('drain', resolve))
      }
      await waitUntil(async () => (await listMultipartUploads(ctx.s3)).length > 0, 'a multipart upload is under way')
      req.destroy()
    }
    sendPartOfTheBody().finally(resolve)
  })
  // The abort is processed asynchronously, after the hang-up.
  await waitUntil(async () => (await listMultipartUploads(ctx.s3)).length === 0, 'the abandoned multipart upload is aborted')
  await assertNothingLeft(t, ctx, dialogId)

  const res = await post(largeUrl, dialogId, 1000)
  t.equal(res.status, 201, 'a normal upload still works')
})
