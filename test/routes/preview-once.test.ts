// A preview is made once across instances: concurrent first requests, on
// one instance or two, wait for the one generation instead of starting
// their own. The interleaving is built, not timed: the generation is held
// at its S3 read of the original until the other instance is seen waiting
// for the attachment's lock in pg_locks.
import sharp from 'sharp'
import t from 'tap'
import { build, id, listen, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { send } from '../support/http.js'
import { markerPixels } from '../support/images.js'
import { settledImage } from '../support/previews.js'
import { startS3Proxy } from '../support/s3-proxy.js'
import { waitUntil } from '../support/wait.js'

t.setTimeout(300_000)

const ctx = await setup(t)
const proxy = await startS3Proxy(() => ctx.s3.endpoint)
t.teardown(() => proxy.close())
const one = await build(t, ctx, { S3_ENDPOINT: proxy.endpoint })
const two = await build(t, ctx, { S3_ENDPOINT: proxy.endpoint })
const bases = [await listen(one.app), await listen(two.app)]

t.test('10 concurrent first requests over 2 instances: one generation, one object written, every request served', async (t) => {
  const dialogId = id('dlg')
  const ownerId = id('owner')
  const jpeg = await sharp(markerPixels(200, 150), { raw: { width: 200, height: 150, channels: 3 } }).jpeg().toBuffer()
  const staged = await attach(one.app, dialogId, jpeg, { ownerId, filename: 'p.jpg', contentType: 'image/jpeg' })
  await settledImage(one.app, dialogId, staged.id)
  // As if the process that was making them had died: no previews, state pending.
  const keys = (await ctx.sql<Array<{ key: string }>>`SELECT storage_key AS key FROM attachment_preview WHERE attachment_id = ${staged.id}`).map((row) => row.key)
  await one.app.storage.deleteMany(keys)
  await ctx.sql`DELETE FROM attachment_preview WHERE attachment_id = ${staged.id}`
  await ctx.sql`UPDATE chat_attachment SET preview_state = 'pending', image_placeholder = NULL WHERE id = ${staged.id}`

  proxy.reset()
  const original = (request: { method: string, url: string }) => request.method === 'GET' && request.url.split('?', 1)[0]!.endsWith(`/${staged.id}`)
  const hold = proxy.hold(original)
  const headers = { authorization: `Bearer ${token({ sub: ownerId })}` }
  const answers = Array.from({ length: 10 }, (_, i) => send(`${bases[i % 2]}/v1/attachments/${dialogId}/${staged.id}/preview/320`, { headers }))
  await hold.reached
  await waitUntil(async () => {
    const [row] = await ctx.sql<Array<{ waiting: number }>>`SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`
    return row!.waiting >= 1
  }, 'the other instance waits for the attachment\'s lock')
  hold.release()
  const responses = await Promise.all(answers)

  t.same(responses.map((res) => res.status), Array(10).fill(200), 'all 10 served')
  t.ok(responses.every((res) => res.body.equals(responses[0]!.body)), 'the same bytes')
  t.equal(proxy.seen.filter(original).length, 1, 'the original was read once')
  const puts = proxy.seen.filter((request) => request.method === 'PUT' && request.url.includes('.preview-'))
  t.equal(puts.length, 1, 'one preview object written')
  const [count] = await ctx.sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM attachment_preview WHERE attachment_id = ${staged.id}`
  t.equal(count!.n, 1, 'one preview row')
})
