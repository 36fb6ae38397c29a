// Uploads under pressure: their number per instance is bounded (503 +
// Retry-After past UPLOAD_MAX_CONCURRENT), a slow but moving upload is never
// cut, a stalled one is, and nothing is left behind. Real sockets.
import { request, type ClientRequest, type IncomingMessage } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { auth, build, id, listen, setup } from '../helper.js'
import { assertNothingLeft, listMultipartUploads } from '../support/bucket.js'
import { randomChunks, send } from '../support/http.js'
import { multipart, PNG_1X1 } from '../support/multipart.js'

t.setTimeout(240_000)
const MiB = 1024 * 1024
const ctx = await setup(t)

/** A one-file form split where the file's bytes go. */
function envelope () {
  const form = multipart([{ name: 'ownerId', value: 'o' }, { name: 'file', filename: 'data.png', contentType: 'image/png', data: '' }])
  const at = form.body.lastIndexOf(Buffer.from('\r\n\r\n\r\n--')) + 4
  return { prefix: form.body.subarray(0, at), suffix: form.body.subarray(at), contentType: form.contentType }
}

/** Starts an upload and sends only its beginning; the test decides when (or whether) the rest follows. */
function beginUpload (base: string, dialogId: string, extra?: Buffer) {
  const { prefix, suffix, contentType } = envelope()
  let answer: (res: IncomingMessage) => void
  const answered = new Promise<IncomingMessage>((resolve) => { answer = resolve })
  const req: ClientRequest = request(`${base}/internal/v1/dialogs/${dialogId}/attachments`, {
    method: 'POST', headers: { ...auth(), 'content-type': contentType }, agent: false
  }, (res) => answer(res))
  const closed = new Promise<void>((resolve) => req.once('close', resolve))
  req.on('error', () => {})
  req.write(prefix)
  req.write(PNG_1X1)
  if (extra) req.write(extra)
  return {
    answered,
    closed,
    async finish (): Promise<number> {
      req.end(suffix)
      const res = await answered
      res.resume()
      return res.statusCode ?? 0
    }
  }
}

async function until (condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!await condition()) await sleep(20)
}

t.test('past UPLOAD_MAX_CONCURRENT uploads in flight: 503 ATT_BUSY with Retry-After, nothing stored', async (t) => {
  const { app, logs } = await build(t, ctx, { UPLOAD_MAX_CONCURRENT: '2' })
  const base = await listen(app)
  const held = [beginUpload(base, id('d')), beginUpload(base, id('d'))]
  // By construction: both are inside the route, waiting for their bytes.
  await until(() => app.slots.uploads.inFlight === 2)
  const dialogId = id('d')
  const form = multipart([{ name: 'ownerId', value: 'o' }, { name: 'file', filename: 'x.png', data: PNG_1X1 }])
  const refused = await send(`${base}/internal/v1/dialogs/${dialogId}/attachments`, {
    method: 'POST', headers: { ...auth(), 'content-type': form.contentType }, body: form.body
  })
  t.equal(refused.status, 503)
  t.equal(refused.headers['retry-after'], '5')
  t.match(JSON.parse(refused.body.toString()), { statusCode: 503, code: 'ATT_BUSY' })
  await assertNothingLeft(t, ctx, dialogId)
  const lines = logs.map((line) => JSON.parse(line) as { level: number, msg: string, code?: string })
  t.ok(lines.some((line) => line.level === 40 && line.code === 'ATT_BUSY'), 'the refusal is logged as load shed, at warn')
  t.equal(lines.filter((line) => line.level >= 50).length, 0, 'nothing at error level')

  t.same(await Promise.all(held.map((upload) => upload.finish())), [201, 201], 'the held uploads complete')
  await until(() => app.slots.uploads.inFlight === 0)
  const later = await send(`${base}/internal/v1/dialogs/${dialogId}/attachments`, {
    method: 'POST', headers: { ...auth(), 'content-type': form.contentType }, body: form.body
  })
  t.equal(later.status, 201, 'accepted once a slot is free')
})

t.test('a slow but moving 25 MB upload succeeds although it takes longer than HTTP_REQUEST_TIMEOUT_MS', async (t) => {
  // Windows of 1 s need 1 KiB each; the client sends 0.5 MB every 50 ms for
  // about 2.5 s, so only a client frozen for a whole second could fail.
  const { app } = await build(t, ctx, { HTTP_REQUEST_TIMEOUT_MS: '1000', UPLOAD_MIN_BYTES_PER_SECOND: '1024' })
  const base = await listen(app)
  const { prefix, suffix, contentType } = envelope()
  const size = 25_000_000
  const started = Date.now()
  const res = await send(`${base}/internal/v1/dialogs/${id('d')}/attachments`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': contentType },
    body: (async function * () {
      yield prefix
      yield PNG_1X1
      let sent = PNG_1X1.length
      for await (const chunk of randomChunks(size - sent, 500_000)) {
        yield chunk
        sent += chunk.length
        await sleep(50)
      }
      yield suffix
    })()
  })
  t.equal(res.status, 201, 'stored')
  t.equal(JSON.parse(res.body.toString()).size, size)
  t.comment(`the upload took ${Date.now() - started} ms with a 1000 ms request timeout`)
})

t.test('an upload that stops sending is cut, and leaves nothing behind', async (t) => {
  const { app, logs } = await build(t, ctx, { HTTP_REQUEST_TIMEOUT_MS: '500', UPLOAD_MIN_BYTES_PER_SECOND: '1024' })
  const base = await listen(app)
  const dialogId = id('d')
  // 6 MiB: more than one part, so a multipart upload has begun in S3.
  const upload = beginUpload(base, dialogId, Buffer.alloc(6 * MiB, 7))
  await until(() => app.slots.uploads.inFlight === 1)
  await upload.closed
  await until(async () => app.slots.uploads.inFlight === 0 && (await listMultipartUploads(ctx.s3)).length === 0)
  await assertNothingLeft(t, ctx, dialogId)
  const lines = logs.map((line) => JSON.parse(line) as { level: number, msg: string, reason?: string })
  t.ok(lines.some((line) => line.msg === 'request body too slow: connection closed' && line.reason === 'body_too_slow'), 'the cut is logged with its reason')
  t.equal(lines.filter((line) => line.level >= 50).length, 0, 'nothing at error level')
})
