// The chat app's client against the running service, over real HTTP:
// uploads streamed from a path, a Node stream and a web stream arrive byte
// for byte; every call answers with the service's types; failures come back
// as ClientError with the service's status and code; viewer URLs open in a
// plain fetch, and lifetimes the service would refuse are refused first.
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import t, { type Test } from 'tap'
import { AttachmentsClient, ClientError } from '../../src/client/index.js'
import { build, id, JWT_SECRET, listen, serviceToken, setup } from '../helper.js'
import { randomChunks } from '../support/http.js'
import { createTempDir } from '../support/leftovers.js'
import { waitUntil } from '../support/wait.js'
import { PNG_1X1 } from '../support/multipart.js'

t.setTimeout(300_000)

const MAX_BYTES = 8 * 1024 * 1024
const LARGE = 6 * 1024 * 1024 + 123
const UNKNOWN = '00000000-0000-4000-8000-000000000000'
const ctx = await setup(t)
const { app } = await build(t, ctx, { ATTACHMENT_MAX_BYTES: String(MAX_BYTES), ATTACHMENT_ALLOWED_TYPES: 'application/octet-stream,image/png' })
const base = await listen(app)
const client = new AttachmentsClient({ baseUrl: base, serviceToken: () => serviceToken(), linkKey: JWT_SECRET })
const dir = await createTempDir(t, 'client')
/** A small binary file (application/octet-stream; text is not allowed here). */
const bytes = (n: number) => Buffer.from([0, 255, 0, n])

async function sha256Of (chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of chunks) hash.update(chunk)
  return hash.digest('hex')
}

/** Expects a ClientError with this status and code. */
async function rejectsWith (t: Test, promise: Promise<unknown>, status: number, code: string, what: string) {
  const err = await promise.then(() => undefined, (error: unknown) => error)
  t.ok(err instanceof ClientError, `${what}: a ClientError`)
  t.match(err, { status, code }, what)
}

t.test('uploadStage streams a large file from a path, a Node stream and a web stream; each arrives byte-identical', async (t) => {
  const path = join(dir, 'large.bin')
  await pipeline(Readable.from(randomChunks(LARGE, 64 * 1024, 7)), createWriteStream(path))
  const expected = await sha256Of(randomChunks(LARGE, 64 * 1024, 7))
  const dialogId = id('d')
  const sources = {
    path,
    'node stream': Readable.from(randomChunks(LARGE, 64 * 1024, 7)),
    'web stream': Readable.toWeb(Readable.from(randomChunks(LARGE, 64 * 1024, 7)))
  }
  for (const [what, source] of Object.entries(sources)) {
    const staged = await client.uploadStage(dialogId, source, { ownerId: 'owner-1', fileName: `${what}.bin` })
    t.match(staged, { dialogId, ownerId: 'owner-1', uploadedBy: 'owner-1', status: 'UPLOADED', size: LARGE, sha256: expected, fileName: `${what}.bin` }, what)
    const download = await fetch(client.viewerUrl(dialogId, staged.id))
    t.equal(download.status, 200, `${what}: downloadable`)
    t.equal(await sha256Of(download.body!), expected, `${what}: the downloaded bytes are the uploaded ones`)
  }
  const named = await client.uploadStage(dialogId, path, { ownerId: 'owner-1', uploadedBy: 'agent-2' })
  t.match(named, { fileName: 'large.bin', uploadedBy: 'agent-2' }, 'a path names the file; uploadedBy is sent')
  const accented = await client.uploadStage(dialogId, Readable.from([bytes(4)]), { ownerId: 'owner-1', fileName: 'résumé 2026.bin' })
  t.equal(accented.fileName, 'résumé 2026.bin', 'a UTF-8 file name arrives as it was given')
})

t.test('an upload aborted while its source is stalled ends with CLIENT_NETWORK and releases the source', async (t) => {
  for (const kind of ['node stream', 'web stream'] as const) {
    // The source gives one chunk, then stalls: its second read never answers.
    let reads = 0
    const stalled = new Readable({ read () { if (reads++ === 0) this.push(bytes(5)) } })
    let cancelled = false
    const web = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        if (reads++ > 0) return new Promise(() => {})
        controller.enqueue(bytes(5))
      },
      cancel: () => { cancelled = true }
    }, { highWaterMark: 0 })
    const controller = new AbortController()
    const upload = client.uploadStage(id('d'), kind === 'node stream' ? stalled : web, { ownerId: 'owner-1', signal: controller.signal })
    await waitUntil(() => reads >= 2, `${kind}: the first chunk was taken and the next one asked for`)
    controller.abort()
    await rejectsWith(t, upload, 0, 'CLIENT_NETWORK', kind)
    if (kind === 'node stream') t.ok(stalled.destroyed, 'the Node stream is destroyed')
    else t.ok(cancelled, 'the web stream is cancelled')
  }
})

t.test('link, get, list, delete, deleteDialog', async (t) => {
  const dialogId = id('d')
  const first = await client.uploadStage(dialogId, Readable.from([PNG_1X1]), { ownerId: 'owner-1', fileName: 'a.png', contentType: 'image/png' })
  const second = await client.uploadStage(dialogId, Readable.from([bytes(2)]), { ownerId: 'owner-1', fileName: 'b.bin' })
  t.equal(first.contentType, 'image/png')

  const linked = await client.link(dialogId, 'msg-1', [second.id, first.id])
  t.same(linked.map((a) => [a.id, a.status, a.messageId]), [[second.id, 'LINKED', 'msg-1'], [first.id, 'LINKED', 'msg-1']], 'in request order')
  t.same((await client.link(dialogId, 'msg-1', [first.id])).map((a) => a.id), [first.id], 'again to the same message: a no-op')

  t.match(await client.get(dialogId, first.id), { id: first.id, status: 'LINKED', messageId: 'msg-1', url: `/v1/attachments/${dialogId}/${first.id}` })
  t.same((await client.list(dialogId, 'msg-1')).map((a) => a.id).sort(), [first.id, second.id].sort())
  t.same(await client.list(dialogId, 'no-such-message'), [])

  t.equal(await client.delete(dialogId, first.id), true, 'deleted')
  t.equal(await client.delete(dialogId, first.id), false, 'a retry after success: false, not an error')
  await rejectsWith(t, client.get(dialogId, first.id), 404, 'ATT_NOT_FOUND', 'gone')

  await client.uploadStage(dialogId, Readable.from([bytes(3)]), { ownerId: 'owner-1' })
  t.equal(await client.deleteDialog(dialogId), 2, 'the rest of the dialog')
  t.same(await client.list(dialogId, 'msg-1'), [])
  t.equal(await client.deleteDialog(dialogId), 0)
})

t.test('failures come back as ClientError with the service\'s status and code', async (t) => {
  const dialogId = id('d')
  const staged = await client.uploadStage(dialogId, Readable.from([bytes(1)]), { ownerId: 'owner-1' })
  await client.link(dialogId, 'msg-1', [staged.id])

  await rejectsWith(t, client.get(dialogId, UNKNOWN), 404, 'ATT_NOT_FOUND', 'unknown id')
  await rejectsWith(t, client.get('another-dialog', staged.id), 404, 'ATT_NOT_FOUND', 'another dialog')
  await rejectsWith(t, client.get(dialogId, 'not-a-uuid'), 400, 'ATT_VALIDATION', 'malformed id')
  await rejectsWith(t, client.link(dialogId, 'msg-2', [staged.id]), 409, 'ATT_LINK_CONFLICT', 'linked to another message')
  await rejectsWith(t, client.link(dialogId, 'msg-2', [UNKNOWN]), 404, 'ATT_NOT_FOUND', 'link of an unknown id')
  await rejectsWith(t, client.uploadStage(dialogId, Readable.from([]), { ownerId: 'owner-1' }), 400, 'ATT_EMPTY_FILE', 'empty file')
  const text = Readable.from([Buffer.from('plain text, which this service does not allow\n')])
  await rejectsWith(t, client.uploadStage(dialogId, text, { ownerId: 'owner-1' }), 415, 'ATT_TYPE_NOT_ALLOWED', 'type not allowed')

  const tooLarge = join(dir, 'too-large.bin')
  await pipeline(Readable.from(randomChunks(MAX_BYTES + 1)), createWriteStream(tooLarge))
  await rejectsWith(t, client.uploadStage(dialogId, tooLarge, { ownerId: 'owner-1' }), 413, 'ATT_FILE_TOO_LARGE', 'a path over the limit (judged from Content-Length)')
  await rejectsWith(t, client.uploadStage(dialogId, Readable.from(randomChunks(MAX_BYTES + 1)), { ownerId: 'owner-1' }), 413, 'ATT_FILE_TOO_LARGE', 'a stream over the limit (counted)')

  const stranger = new AttachmentsClient({ baseUrl: base, serviceToken: 'not-a-token' })
  await rejectsWith(t, stranger.list(dialogId, 'msg-1'), 401, 'ATT_UNAUTHORIZED', 'a bad service token')
  const unreachable = new AttachmentsClient({ baseUrl: 'http://127.0.0.1:1', serviceToken: 'x' })
  await rejectsWith(t, unreachable.list(dialogId, 'msg-1'), 0, 'CLIENT_NETWORK', 'nothing listening')
})

t.test('viewerUrl: a plain fetch opens it; only for its dialog; lifetimes the service refuses are refused before signing', async (t) => {
  const dialogId = id('d')
  const staged = await client.uploadStage(dialogId, Readable.from([PNG_1X1]), { ownerId: 'owner-1', contentType: 'image/png' })
  const url = new URL(client.viewerUrl(dialogId, staged.id, { ttlSeconds: 60 }))
  t.equal(url.origin, base)
  t.equal(url.pathname, `/v1/attachments/${dialogId}/${staged.id}`)
  const claims = JSON.parse(Buffer.from(url.searchParams.get('token')!.split('.')[1]!, 'base64url').toString()) as Record<string, number | string>
  t.same(Object.keys(claims).sort(), ['dlg', 'exp', 'iat'])
  t.equal(claims.dlg, dialogId)
  t.equal(Number(claims.exp) - Number(claims.iat), 60)

  const res = await fetch(url)
  t.equal(res.status, 200)
  t.same(Buffer.from(await res.arrayBuffer()), PNG_1X1)
  const download = await fetch(client.viewerUrl(dialogId, staged.id, { download: true }))
  t.match(download.headers.get('content-disposition'), /^attachment/, 'download: true asks for an attachment')
  await download.arrayBuffer()

  const elsewhere = await fetch(client.viewerUrl('another-dialog', staged.id))
  t.equal(elsewhere.status, 404, 'a link of another dialog does not read it')
  await elsewhere.arrayBuffer()

  t.throws(() => client.viewerUrl(dialogId, staged.id, { ttlSeconds: 0 }), RangeError, 'already expired')
  t.throws(() => client.viewerUrl(dialogId, staged.id, { ttlSeconds: -5 }), RangeError, 'expired')
  t.throws(() => client.viewerUrl(dialogId, staged.id, { ttlSeconds: 601 }), RangeError, 'longer than QUERY_TOKEN_MAX_TTL_SECONDS')
  t.throws(() => client.viewerUrl(dialogId, staged.id, { ttlSeconds: 1.5 }), RangeError, 'not whole seconds')
  t.throws(() => client.viewerUrl('bad dialog', staged.id), TypeError, 'not a dialog id')
  const shorter = new AttachmentsClient({ baseUrl: base, serviceToken: 'x', linkKey: JWT_SECRET, linkMaxTtlSeconds: 30 })
  t.throws(() => shorter.viewerUrl(dialogId, staged.id, { ttlSeconds: 31 }), RangeError, 'the service\'s own, shorter, limit')
  t.throws(() => new AttachmentsClient({ baseUrl: base, serviceToken: 'x' }).viewerUrl(dialogId, staged.id), TypeError, 'no key, no link')
})
