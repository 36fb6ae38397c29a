// Location never leaves with an original: through the real upload route, the
// stored object of a photo carries no GPS and no device serials (read back
// by ExifTool from the bucket), has the uploaded size and pixels, and its
// ETag and SHA-256 are those of the stored bytes; a browser download gets
// exactly those bytes. ORIGINAL_METADATA=keep stores the upload as sent.
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { build, id, setup, token, auth } from '../helper.js'
import { bucketClient } from '../support/bucket.js'
import { CAMERA_METADATA, picture, pixels, privateTags, readTags, tempDir, writeTags, type Format } from '../support/metadata-images.js'
import { uploadForm } from '../support/multipart.js'

t.setTimeout(240_000)
const ctx = await setup(t)
const dir = await tempDir(t)

async function storedBytes (key: string): Promise<Buffer> {
  const client = bucketClient(ctx.s3)
  try {
    const res = await client.send(new GetObjectCommand({ Bucket: ctx.s3.bucket, Key: key }))
    return Buffer.from(await res.Body!.transformToByteArray())
  } finally {
    client.destroy()
  }
}

async function uploadPhoto (app: Awaited<ReturnType<typeof build>>['app'], data: Buffer, name: string) {
  const dialogId = id('d')
  const form = uploadForm(data, { ownerId: 'o', filename: name, contentType: 'image/jpeg' })
  const res = await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments`, headers: { ...auth(), 'content-type': form.contentType }, payload: form.body })
  t.equal(res.statusCode, 201, `${name}: stored`)
  return { dialogId, body: res.json() as { id: string, sha256: string, etag: string, size: number } }
}

const { app } = await build(t, ctx)

for (const format of ['jpeg', 'heic', 'png', 'webp'] as Format[]) {
  t.test(`${format}: the stored original has no GPS or serials, the same size and pixels, and its own ETag`, async (t) => {
    const input = await picture(dir, format, `route-${format}`)
    await writeTags(input, CAMERA_METADATA)
    const uploaded = await readFile(input)
    const [before] = await readTags(input)
    t.not(privateTags(before!).length, 0, 'the upload carries GPS and serial numbers')

    const { dialogId, body } = await uploadPhoto(app, uploaded, `photo.${format}`)
    const stored = await storedBytes(`attachments/${dialogId}/${body.id}`)
    const storedPath = join(dir, `stored-${format}.${format === 'jpeg' ? 'jpg' : format}`)
    await writeFile(storedPath, stored)
    const [after] = await readTags(storedPath)
    t.same(privateTags(after!), [], 'ExifTool finds no GPS, serial or owner tag in the stored object')
    t.equal(after!['IFD0:Orientation'], before!['IFD0:Orientation'], 'orientation kept')
    t.equal(stored.length, uploaded.length, 'same size')
    t.equal(body.size, stored.length)
    const sha256 = createHash('sha256').update(stored).digest('hex')
    t.equal(body.sha256, sha256, 'SHA-256 of the stored bytes')
    t.equal(body.etag, `"${Buffer.from(sha256, 'hex').toString('base64url')}"`, 'ETag of the stored bytes')
    t.same(await pixels(storedPath, format), await pixels(input, format), 'every pixel as uploaded')

    const download = await app.inject({ url: `/v1/attachments/${dialogId}/${body.id}`, headers: { authorization: `Bearer ${token({ sub: 'o' })}` } })
    t.equal(download.statusCode, 200)
    t.same(download.rawPayload, stored, 'a download gets the stored bytes')
    t.equal(download.headers.etag, body.etag)
  })
}

t.test('ORIGINAL_METADATA=keep stores the upload byte for byte', async (t) => {
  const { app: keeping } = await build(t, ctx, { ORIGINAL_METADATA: 'keep' })
  const input = await picture(dir, 'jpeg', 'kept')
  await writeTags(input, CAMERA_METADATA)
  const uploaded = await readFile(input)
  const { dialogId, body } = await uploadPhoto(keeping, uploaded, 'kept.jpg')
  t.same(await storedBytes(`attachments/${dialogId}/${body.id}`), uploaded)
  t.equal(body.sha256, createHash('sha256').update(uploaded).digest('hex'))
})
