// Archives of a dialog and exports of a customer: a ZIP read back with an
// independent reader, whose files hash to the stored SHA-256 values, with
// a manifest; the browser "download all" under the viewer rules; and a
// client that hangs up mid-archive leaving no S3 socket behind.
import { createWriteStream } from 'node:fs'
import { get as httpGet } from 'node:http'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { auth, build, id, listen, setup, token } from '../helper.js'
import { attach, stage } from '../support/attachments.js'
import { createTempDir } from '../support/leftovers.js'
import { readZip } from '../support/zip-reader.js'
import { waitUntil } from '../support/wait.js'

t.setTimeout(240_000)

const ctx = await setup(t)
const { app, logs } = await build(t, ctx, { AUDIT_FLUSH_MS: '50' })
const base = await listen(app)
const dir = await createTempDir(t, 'archives')

/** GETs a URL into a file; the status, headers and the file. */
function fetchTo (path: string, headers: Record<string, string>): Promise<{ status: number, headers: Record<string, unknown>, file: string }> {
  const file = join(dir, `${id('zip')}.zip`)
  return new Promise((resolve, reject) => {
    httpGet(`${base}${path}`, { headers, agent: false }, (res) => {
      pipeline(res, createWriteStream(file)).then(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, file }), reject)
    }).once('error', reject)
  })
}

interface Manifest { attachments: Array<{ path: string | null, id: string, dialogId: string, messageId: string | null, fileName: string, size: number, sha256: string, contentType: string, createdAt: string }>, dialogId?: string, ownerId?: string }

/** Every file of the archive hashes to its manifest entry, which matches the stored row. */
async function checkArchive (t: Test, file: string): Promise<Manifest> {
  const zip = await readZip(file)
  t.equal(zip.badEntry, null, 'every CRC-32 checks out')
  t.equal(zip.entries.at(-1)?.name, 'manifest.json', 'the manifest is the last entry')
  const manifest = JSON.parse(zip.manifest!) as Manifest
  const files = zip.entries.slice(0, -1)
  t.same(files.map((entry) => entry.name).sort(), manifest.attachments.map((entry) => entry.path).sort(), 'one file per manifest entry')
  for (const entry of manifest.attachments) {
    const [row] = await ctx.sql<Array<{ sha256: string, size_bytes: string }>>`SELECT sha256, size_bytes FROM chat_attachment WHERE id = ${entry.id}`
    const inZip = files.find((file) => file.name === entry.path)
    t.same({ sha256: inZip?.sha256, size: inZip?.size }, { sha256: row!.sha256, size: Number(row!.size_bytes) }, `${entry.path}: the stored SHA-256 and size`)
    t.equal(entry.sha256, row!.sha256)
  }
  return manifest
}

const ownerId = id('o')
const dialogId = id('d')
const otherDialog = id('d')
const files = [
  await attach(app, dialogId, randomBytes(300_000), { ownerId, filename: 'photo.jpg', messageId: 'm-1' }),
  await attach(app, dialogId, randomBytes(1000), { ownerId, filename: 'photo.jpg', messageId: 'm-2' }),
  await attach(app, dialogId, randomBytes(1000), { ownerId, filename: 'PHOTO.jpg', messageId: 'm-2' }),
  await attach(app, dialogId, 'Résumé', { ownerId, filename: 'Résumé №1.txt', messageId: 'm-3' }),
  await stage(app, dialogId, 'not yet sent', { ownerId, filename: 'draft.txt' })
]
const elsewhere = await attach(app, otherDialog, 'other dialog', { ownerId, filename: 'photo.jpg' })
const stranger = await attach(app, id('d'), 'not theirs', { ownerId: id('o'), filename: 'x.txt' })

t.test('dialog archive: every attachment under a readable unique name, hashing to the stored SHA-256; a manifest', async (t) => {
  const res = await fetchTo(`/internal/v1/dialogs/${dialogId}/archive`, auth())
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], 'application/zip')
  t.match(res.headers['content-disposition'], /^attachment; filename="dialog-.*\.zip"/)
  t.equal(res.headers['cache-control'], 'private, no-store')
  const manifest = await checkArchive(t, res.file)
  t.equal(manifest.dialogId, dialogId)
  t.same(manifest.attachments.map((entry) => entry.path).sort(), ['PHOTO (3).jpg', 'Résumé №1.txt', 'draft.txt', 'photo (2).jpg', 'photo.jpg'].sort(),
    'repeats numbered, ignoring case; names as uploaded')
  const first = manifest.attachments.find((entry) => entry.id === files[0]!.id)
  t.match(first, { dialogId, messageId: 'm-1', fileName: 'photo.jpg', size: 300_000, contentType: String, createdAt: String })
})

t.test('export by customer: one folder per dialog, every dialog of the owner, nobody else\'s', async (t) => {
  const res = await fetchTo(`/internal/v1/owners/${ownerId}/export`, auth())
  t.equal(res.status, 200)
  const manifest = await checkArchive(t, res.file)
  t.equal(manifest.ownerId, ownerId)
  t.same(manifest.attachments.map((entry) => entry.id).sort(), [...files, elsewhere].map((item) => item.id).sort())
  t.ok(manifest.attachments.every((entry) => entry.path!.startsWith(`${entry.dialogId}/`)), 'in the folder of its dialog')
  t.notOk(manifest.attachments.some((entry) => entry.id === stranger.id))
  const empty = await fetchTo(`/internal/v1/owners/${id('o')}/export`, auth())
  t.equal(empty.status, 200)
  t.same((await checkArchive(t, empty.file)).attachments, [], 'a customer without attachments: just the manifest')
  t.equal((await app.inject({ url: '/internal/v1/owners/bad%20id/export', headers: auth() })).statusCode, 400)
  t.equal((await app.inject({ url: `/internal/v1/owners/${ownerId}/export` })).statusCode, 401)
})

t.test('browser "download all": the viewer rules of a download, the common 404, audited', async (t) => {
  const path = `/v1/attachments/${dialogId}/archive`
  const owner = await fetchTo(path, { authorization: `Bearer ${token({ sub: ownerId })}` })
  t.equal(owner.status, 200)
  await checkArchive(t, owner.file)
  const link = await fetchTo(`${path}?token=${token({ dlg: dialogId, exp: Math.floor(Date.now() / 1000) + 60 })}`, {})
  t.equal(link.status, 200, 'a link token of this dialog, in the query')
  const agent = await fetchTo(path, { cookie: `chat_token=${token({ sub: 'agent', scope: 'attachments:read:any' })}` })
  t.equal(agent.status, 200, 'a support agent, cookie')

  const notFound = [
    await app.inject({ url: path, headers: { authorization: `Bearer ${token({ sub: 'someone-else' })}` } }),
    await app.inject({ url: `/v1/attachments/${id('d')}/archive`, headers: { authorization: `Bearer ${token({ sub: ownerId })}` } }),
    await app.inject({ url: '/v1/attachments/bad%20id/archive', headers: { authorization: `Bearer ${token({ sub: ownerId })}` } })
  ]
  for (const res of notFound) t.same({ status: res.statusCode, body: res.json() }, { status: 404, body: { statusCode: 404, code: 'ATT_NOT_FOUND', error: 'Not Found', message: 'Attachment not found' } })
  t.equal((await app.inject({ url: path })).statusCode, 401)
  t.equal((await app.inject({ url: `${path}?token=${token({ dlg: otherDialog, exp: Math.floor(Date.now() / 1000) + 60 })}` })).statusCode, 401,
    'a link token of another dialog, as for a single download')

  await waitUntil(async () => (await ctx.sql`SELECT 1 FROM attachment_access WHERE variant = 'archive' AND viewer = ${ownerId}`).length === files.length, 'the owner\'s archive is in the read audit')
  const [one] = await ctx.sql<Array<{ bytes: string, status: number }>>`SELECT bytes, status FROM attachment_access WHERE variant = 'archive' AND viewer = ${ownerId} AND attachment_id = ${files[0]!.id}`
  t.same({ bytes: Number(one!.bytes), status: one!.status }, { bytes: 300_000, status: 200 })
})

t.test('a client that stops reading and hangs up mid-archive: the S3 read stops, its socket is released', async (t) => {
  const bigDialog = id('d')
  // Larger than every buffer between S3 and the paused client together, so the
  // S3 body is still open while the client holds off.
  for (let i = 0; i < 2; i++) await attach(app, bigDialog, randomBytes(24 * 1024 * 1024), { ownerId, filename: `big-${i}.bin` })
  const baseline = app.storage.socketStats().active
  const before = logs.length
  const req = httpGet(`${base}/internal/v1/dialogs/${bigDialog}/archive`, { headers: auth(), agent: false })
  const res = await new Promise<import('node:http').IncomingMessage>((resolve) => req.once('response', resolve))
  t.equal(res.statusCode, 200)
  await new Promise((resolve) => res.once('data', resolve))
  res.pause()
  await waitUntil(() => app.storage.socketStats().active > baseline, 'the S3 read is open while the client holds off')
  t.equal(app.slots.downloads.inFlight, 1, 'the archive holds a download slot')
  req.destroy()
  await waitUntil(() => app.storage.socketStats().active <= baseline, 'the S3 socket of the abandoned archive is released')
  await waitUntil(() => app.slots.downloads.inFlight === 0, 'and its slot')
  t.notOk(logs.slice(before).some((line) => JSON.parse(line).level >= 50), 'nothing logged as an error')
})
