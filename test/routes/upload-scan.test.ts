// The malware gate on the upload route, against a real clamd with a
// signature database the tests write (EICAR): infected files are refused
// with 422 and leave nothing behind; a clean file is stored as sent; clamd
// down means 503 and nothing stored (fail closed), and readiness says so.
import { createHash } from 'node:crypto'
import t, { type Test } from 'tap'
import { auth, build, id, listen, setup } from '../helper.js'
import { assertNothingLeft, objectDigest } from '../support/bucket.js'
import { EICAR, EICAR_SIGNATURE, startClamd } from '../support/clamd.js'
import { randomChunks, send } from '../support/http.js'
import { multipart } from '../support/multipart.js'
import { zip } from '../support/zip.js'

t.setTimeout(300_000)
const MiB = 1024 * 1024
const ctx = await setup(t)
const clamd = await startClamd()
t.teardown(() => clamd.close())
const { app, logs } = await build(t, ctx, {
  SCAN_MODE: 'clamd',
  CLAMD_HOST: clamd.host,
  CLAMD_PORT: String(clamd.port),
  // Scanning 30 MB takes clamd seconds of CPU, many more on a busy machine:
  // the timeout is not what these tests check (the frozen-clamd test has
  // its own short one).
  SCAN_TIMEOUT_MS: '300000',
  ATTACHMENT_MAX_BYTES: String(32 * MiB)
})
const base = await listen(app)

/** A one-file form split where the file goes, so its bytes can be sent as the test likes. */
function envelope (filename: string) {
  const form = multipart([{ name: 'ownerId', value: 'o' }, { name: 'file', filename, contentType: 'application/octet-stream', data: '' }])
  const at = form.body.lastIndexOf(Buffer.from('\r\n\r\n\r\n--')) + 4
  return { prefix: form.body.subarray(0, at), suffix: form.body.subarray(at), contentType: form.contentType }
}

function upload (dialogId: string, chunks: Iterable<Buffer> | AsyncIterable<Buffer>, filename = 'file.bin') {
  const { prefix, suffix, contentType } = envelope(filename)
  return send(`${base}/internal/v1/dialogs/${dialogId}/attachments`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': contentType },
    body: (async function * () {
      yield prefix
      yield * chunks
      yield suffix
    })()
  })
}

function refusedAsInfected (t: Test, res: { status: number, body: Buffer }) {
  t.equal(res.status, 422)
  const body = JSON.parse(res.body.toString()) as { code: string, message: string }
  t.equal(body.code, 'ATT_INFECTED')
  t.match(body.message, EICAR_SIGNATURE, 'the signature is named in the answer')
}

t.test('the EICAR test file: 422 ATT_INFECTED naming the signature, logged, nothing stored', async (t) => {
  const dialogId = id('d')
  refusedAsInfected(t, await upload(dialogId, [EICAR], 'eicar.com'))
  t.ok(logs.some((line) => line.includes(EICAR_SIGNATURE)), 'the signature is in the log')
  await assertNothingLeft(t, ctx, dialogId)
})

t.test('EICAR inside a ZIP, stored and deflated: refused', async (t) => {
  for (const method of ['store', 'deflate'] as const) {
    const dialogId = id('d')
    refusedAsInfected(t, await upload(dialogId, [zip('invoice.com', EICAR, method)], 'invoice.zip'))
    await assertNothingLeft(t, ctx, dialogId)
  }
})

t.test('EICAR split across the body\'s chunks, one byte per chunk, after 6 MiB (a multipart upload had begun): refused', async (t) => {
  const dialogId = id('d')
  const res = await upload(dialogId, (async function * () {
    yield * randomChunks(6 * MiB)
    for (const byte of EICAR) yield Buffer.from([byte])
  })())
  refusedAsInfected(t, res)
  await assertNothingLeft(t, ctx, dialogId)
})

t.test('a clean 30 MB file passes, stored exactly as sent', async (t) => {
  const dialogId = id('d')
  const hash = createHash('sha256')
  const res = await upload(dialogId, (async function * () {
    for await (const chunk of randomChunks(30_000_000, 256 * 1024, 11)) {
      hash.update(chunk)
      yield chunk
    }
  })())
  t.equal(res.status, 201)
  const body = JSON.parse(res.body.toString()) as { id: string, sha256: string, size: number }
  t.equal(body.size, 30_000_000)
  t.equal(body.sha256, hash.digest('hex'))
  t.same(await objectDigest(ctx.s3, `attachments/${dialogId}/${body.id}`), { sha256: body.sha256, size: 30_000_000 })
})

t.test('clamd down: 503 with Retry-After, nothing stored, readiness names the scanner; back: works again', async (t) => {
  await clamd.stop()
  try {
    const dialogId = id('d')
    const res = await upload(dialogId, [Buffer.from('harmless text, but nobody can tell')], 'note.txt')
    t.equal(res.status, 503)
    t.equal(res.headers['retry-after'], '5')
    t.match(JSON.parse(res.body.toString()), { code: 'ATT_SCANNER_UNAVAILABLE' })
    await assertNothingLeft(t, ctx, dialogId)
    const ready = await send(`${base}/health/ready`)
    t.equal(ready.status, 503)
    t.match(JSON.parse(ready.body.toString()), { checks: { scanner: { ok: false }, postgres: { ok: true }, s3: { ok: true } } })
  } finally {
    await clamd.start()
  }
  t.equal((await send(`${base}/health/ready`)).status, 200, 'ready again')
  t.equal((await upload(id('d'), [Buffer.from('hello')], 'hello.txt')).status, 201, 'uploads again')
})

t.test('clamd frozen (slow): 503 after SCAN_TIMEOUT_MS, nothing stored', async (t) => {
  const slow = await build(t, ctx, { SCAN_MODE: 'clamd', CLAMD_HOST: clamd.host, CLAMD_PORT: String(clamd.port), SCAN_TIMEOUT_MS: '500' })
  const url = await listen(slow.app)
  const dialogId = id('d')
  const { prefix, suffix, contentType } = envelope('note.txt')
  clamd.freeze()
  try {
    const res = await send(`${url}/internal/v1/dialogs/${dialogId}/attachments`, {
      method: 'POST', headers: { ...auth(), 'content-type': contentType }, body: Buffer.concat([prefix, Buffer.from('hello'), suffix])
    })
    t.equal(res.status, 503)
    t.match(JSON.parse(res.body.toString()), { code: 'ATT_SCANNER_UNAVAILABLE' })
  } finally {
    clamd.thaw()
  }
  await assertNothingLeft(t, ctx, dialogId)
})
